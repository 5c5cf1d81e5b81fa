"""API token authentication: django-rest-knox's, which keeps only a digest of each token."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.signals import token_expired
from rest_framework import exceptions


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's TokenAuthentication ("Authorization: Token <token>"), answering 401 instead of
    500 when the token is not text (knox decodes it as UTF-8 before looking it up), and
    checking only the presented token's expiry on each request: knox also reads all the
    user's other tokens every time to delete expired ones, which signing in does here
    (api/views/auth.py)."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token) -> bool:
        """Delete `auth_token` and answer True when it has expired."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True
