"""System checks for the personal-data keys."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

from hr.crypto import encrypts_with


@register(Tags.security)
def field_keys_check(app_configs, **kwargs):
    """Warn when the public development key encrypts data of a server that is not in DEBUG.

    Listed after the current key it only decrypts (data being rotated away from it): fine."""
    if not settings.DEBUG and encrypts_with(settings.CAREFLOW_FIELD_KEYS, settings.DEV_FIELD_KEYS):
        return [
            Warning(
                "personal data is encrypted with the public development key",
                hint="set CAREFLOW_FIELD_KEYS (and CAREFLOW_ENV=production) on servers",
                id="careflow.W001",
            )
        ]
    return []
