"""Sign-in throttles: per client address and per username, for the API token endpoint
(DRF throttle classes) and the session sign-in forms (LoginThrottleMiddleware).

Each counts attempts in the cache over a sliding window; over the rate the answer is 429
with Retry-After, so guessing passwords costs time even across many addresses.
"""

import math

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


def _submitted_username(request) -> str:
    data = getattr(request, "data", None)
    if data is None:  # a Django request (session sign-in form), not a DRF one
        data = request.POST
    username = data.get("username") if hasattr(data, "get") else None
    return str(username).strip().lower() if isinstance(username, str) else ""


class _LoginThrottle(SimpleRateThrottle):
    def get_rate(self) -> str:
        # Read when used, not when imported, so the settings of the moment apply.
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]


class LoginIpThrottle(_LoginThrottle):
    """Sign-in attempts from one client address (a clinic's staff may share one behind NAT,
    hence a rate well above the per-username one)."""

    scope = "login_ip"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(_LoginThrottle):
    """Sign-in attempts for one username, whatever address they come from."""

    scope = "login_username"

    def get_cache_key(self, request, view) -> str | None:
        username = _submitted_username(request)
        if not username:
            return None
        return self.cache_format % {"scope": self.scope, "ident": username}


LOGIN_THROTTLES = (LoginIpThrottle, LoginUsernameThrottle)


def login_retry_after(request) -> int | None:
    """Seconds until `request` may try to sign in again, or None when it may now.

    Every throttle records the attempt, as DRF's own check does."""
    denied = []
    for throttle_class in LOGIN_THROTTLES:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            denied.append(throttle.wait() or 1)
    if not denied:
        return None
    return max(1, math.ceil(max(denied)))
