"""One place that turns domain errors into HTTP answers: 400, 403, 404, 409."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
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
        return Response({"detail": "request body too large"}, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ValidationError):
        return Response(
            {"detail": "invalid input", "errors": _flatten(exc.detail)},
            status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
