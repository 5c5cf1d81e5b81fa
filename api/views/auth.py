"""Signing in for an API token, throttled per client address and per username."""

from rest_framework.authtoken.views import ObtainAuthToken

from api.parsers import JSONParser
from api.throttling import LOGIN_THROTTLES


class TokenApi(ObtainAuthToken):
    """Exchange a username and password for the user's API token (JSON body)."""

    throttle_classes = list(LOGIN_THROTTLES)
    # JSON only, under the API's text rules: DRF's own view also takes forms.
    parser_classes = [JSONParser]
