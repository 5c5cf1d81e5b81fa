"""One place that turns domain errors into HTTP answers: 400, 403, 404, 409, 413, 503."""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflows.exceptions import Conflict, DeployRefused, InvalidInput, NotAllowed, NotFound


def _flatten(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail as a flat list of {field, message}."""
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            name = prefix if key == "non_field_errors" else f"{prefix}{key}"
            errors.extend(_flatten(value, f"{name}." if isinstance(value, dict) else name))
        return errors
    if isinstance(detail, list):
        errors = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and not all(isinstance(v, str) for v in value):
                errors.extend(_flatten(value, f"{prefix}{index}."))
            else:
                errors.extend(_flatten(value, prefix))
        return errors
    return [{"field": prefix.rstrip(".") or "non_field_errors", "message": str(detail)}]


DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_unavailable_body() -> dict[str, str]:
    """What a caller is told while the database is away (a restart, a failover): a passing
    condition, not a bug, so 503 and when to try again rather than a 500."""
    return {
        "detail": "the database is unavailable for a moment; nothing was changed, "
        "please try again (数据库暂时不可用，未做任何更改，请稍后重试)",
    }


def retry_after_headers() -> dict[str, str]:
    return {"Retry-After": str(settings.CAREFLOW["RETRY_AFTER_SECONDS"])}


def request_too_large_body(limit: int) -> dict[str, str]:
    return {"detail": f"request body too large: at most {limit} bytes are accepted"}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, InvalidInput):
        return Response({"detail": str(exc), "errors": exc.errors}, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DeployRefused):
        return Response(
            {"detail": "the bundle was refused", "errors": exc.problems},
            status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, NotAllowed):
        return Response({"detail": str(exc)}, status.HTTP_403_FORBIDDEN)
    if isinstance(exc, NotFound):
        return Response({"detail": str(exc)}, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Conflict):
        return Response({"detail": str(exc)}, status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            request_too_large_body(settings.DATA_UPLOAD_MAX_MEMORY_SIZE),
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DATABASE_ERRORS):
        return Response(
            database_unavailable_body(),
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=retry_after_headers(),
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            {"detail": "invalid input", "errors": _flatten(exc.detail)},
            status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
