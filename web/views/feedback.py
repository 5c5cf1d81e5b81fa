"""Employee voice 心声直达: send named or anonymous feedback, follow it by its receipt code
(through the feedback API, which never records who sent anonymous feedback)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from hr.models import FeedbackTicket


@login_required
def feedback(request):
    return render(
        request,
        "web/feedback.html",
        {
            "categories": FeedbackTicket.Category.choices,
            "statuses": dict(FeedbackTicket.Status.choices),
        },
    )
