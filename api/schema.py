"""OpenAPI generation tweaks."""

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class TokenScheme(KnoxTokenScheme):
    """Our knox TokenAuthentication ("Authorization: Token <token>"), under the scheme name
    the API has always had."""

    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"


class AutoSchema(BaseAutoSchema):
    """Names a view's nested Input/Output serializers after the view, so that
    `TaskCompleteApi.InputSerializer` becomes the component `TaskCompleteInput`."""

    def _get_serializer_name(self, serializer, direction, bypass_extensions=False):
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer, _, inner = cls.__qualname__.rpartition(".")
        if outer and inner in {"InputSerializer", "OutputSerializer", "FilterSerializer"}:
            name = outer.removeprefix("_").removesuffix("Api") + name
        return name
