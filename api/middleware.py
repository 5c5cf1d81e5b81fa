"""HTTP-level guards that are not one view's business: the Content-Security-Policy header
and the throttle on session sign-in forms (the Django admin's login)."""

from django.conf import settings
from django.http import JsonResponse

from api.throttling import login_retry_after


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


class LoginThrottleMiddleware:
    """Throttles POSTs to the session sign-in forms like the token endpoint: 429 + Retry-After."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.path in settings.CAREFLOW["LOGIN_PATHS"]:
            retry_after = login_retry_after(request)
            if retry_after is not None:
                response = JsonResponse(
                    {"detail": f"too many sign-in attempts; try again in {retry_after} s"},
                    status=429,
                )
                response["Retry-After"] = str(retry_after)
                return response
        return self.get_response(request)
