"""HTTP-level guards that are not one view's business.

- RequestGuardMiddleware (outermost): a cap on the request body (413 before a byte of it is
  read), the text rules of api/parsers.py on the path and query string (400), and 503
  instead of 500 while the database is away (DRF views get the same from api/errors.py).
- ContentSecurityPolicyMiddleware: the Content-Security-Policy header of the settings.
(Failed sign-ins are counted and refused by django-axes at every entry point: api/signin.py.)
"""

from django.conf import settings
from django.http import JsonResponse

from api.errors import (
    DATABASE_ERRORS,
    database_unavailable_body,
    request_too_large_body,
    retry_after_headers,
)
from api.parsers import text_problem


def _body_limit(request) -> int:
    if request.content_type == "multipart/form-data":
        return settings.CAREFLOW["REQUEST_MAX_BYTES"]
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _text_errors(request) -> list[dict[str, str]]:
    errors = []
    problem = text_problem(request.path)
    if problem:
        errors.append({"field": "path", "message": f"the path {problem}"})
    for key, values in request.GET.lists():
        problem = text_problem(key)
        if problem:
            errors.append({"field": "query", "message": f"a parameter name {problem}"})
            continue
        errors.extend(
            {"field": key, "message": problem} for problem in map(text_problem, values) if problem
        )
    return errors


class RequestGuardMiddleware:
    """Outermost middleware: see the module docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "invalid Content-Length header"}, status=400)
        limit = _body_limit(request)
        if length > limit:
            return JsonResponse(request_too_large_body(limit), status=413)
        errors = _text_errors(request)
        if errors:
            return JsonResponse({"detail": "invalid input", "errors": errors}, status=400)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_ERRORS):
            return JsonResponse(
                database_unavailable_body(), status=503, headers=retry_after_headers()
            )
        return None


class ContentSecurityPolicyMiddleware:
    """Adds the CSP of the settings to every response (report-only outside production)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy:
            header = (
                "Content-Security-Policy-Report-Only"
                if settings.CONTENT_SECURITY_POLICY_REPORT_ONLY
                else "Content-Security-Policy"
            )
            response.headers.setdefault(header, policy)
        return response
