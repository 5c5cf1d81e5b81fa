"""How CareFlow answers a sign-in that django-axes refuses (settings: AXES_*).

axes counts failed sign-ins per username at every entry point that calls
`django.contrib.auth.authenticate(request=...)`: the pages' /login/, /admin/login/ (their
forms) and POST /api/v1/auth/token (api/views/auth.py). Past the limit the username is
refused, even with the right password, until the cool-off has passed since its last failure.
The pages get the sign-in form again with the reason in the person's language (axes calls
`lockout_response` through AxesMiddleware); the API gets 429 from the token view. Both say
when to try again (Retry-After).
"""

import math

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone


def seconds_until_unlocked(username: str) -> int:
    """At most how many seconds until `username` may sign in again (at least 1).

    The lock lifts when its recent failures fall below the limit; the last of them plus
    the cool-off is the latest that can happen."""
    last_failure_at = AccessAttempt.objects.filter(username=username).aggregate(
        last=Max("attempt_time")
    )["last"]
    if last_failure_at is None:
        return 1
    remaining = last_failure_at + get_cool_off() - timezone.now()
    return max(1, math.ceil(remaining.total_seconds()))


def locked_message_minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a refused session sign-in (/login/, /admin/login/) gets the
    sign-in page again, 429, with the reason and when to try again."""
    username = get_client_username(request, credentials) or ""
    retry_after = seconds_until_unlocked(username)
    response = render(
        request,
        "web/login.html",
        {
            "form": AuthenticationForm(request, initial={"username": username}),
            "locked_minutes": locked_message_minutes(retry_after),
            "next": request.POST.get("next", ""),
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response
