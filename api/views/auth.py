"""API tokens (django-rest-knox): sign in for one, sign out of it, or of all of them.

Every sign-in goes through django-axes (AUTHENTICATION_BACKENDS, api/signin.py): after
too many failures for a username it is refused for a while, even with the right password.
"""

from django.contrib.auth import authenticate
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox import views as knox_views
from knox.models import AuthToken
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from api.authentication import TokenAuthentication
from api.parsers import JSONParser
from api.signin import seconds_until_unlocked


class TokenApi(knox_views.LoginView):
    """Exchange a username and password for a new API token. The token is in this answer
    only (the server keeps a digest of it) and works until `expiry` or until signed out."""

    authentication_classes = []
    permission_classes = [AllowAny]
    # JSON only, under the API's text rules.
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=1024, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="shown this once; send as 'Token <token>'")
        expiry = serializers.DateTimeField(help_text="the token stops working at this time")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="wrong username or password, or a missing field"),
            429: OpenApiResponse(
                description="too many failed sign-ins for this username: locked until "
                "Retry-After seconds have passed"
            ),
        },
    )
    def post(self, request, format=None):
        credentials = self.InputSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        username = credentials.validated_data["username"]
        user = authenticate(
            request=request, username=username, password=credentials.validated_data["password"]
        )
        if user is None:
            if getattr(request, "axes_locked_out", False):
                retry_after = seconds_until_unlocked(username)
                message = (
                    f"too many failed sign-ins for this username; it is locked, "
                    f"try again in {retry_after} s"
                )
                return Response(
                    {"detail": message, "errors": [{"field": "username", "message": message}]},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(retry_after)},
                )
            raise exceptions.ValidationError("unable to sign in with these credentials")
        request.user = user
        # Expired tokens are refused when presented; their rows go when their owner signs in.
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        return super().post(request, format)


class LogoutApi(knox_views.LogoutView):
    """Revoke the token this request is signed with."""

    authentication_classes = [TokenAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, format=None):
        if not isinstance(request.auth, AuthToken):
            raise exceptions.NotAuthenticated("signing out revokes a token: send it")
        return super().post(request, format)


class LogoutAllApi(knox_views.LogoutAllView):
    """Revoke every API token of the signed-in user (e.g. after losing a device)."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]

    @extend_schema(request=None, responses={204: None})
    def post(self, request, format=None):
        return super().post(request, format)
