"""Sign-in and the home page: what is waiting for me."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from web.views.tasks import inbox_rows
from workflows import selectors


@login_required
def home(request):
    user = request.user
    tasks = inbox_rows(user)
    now = timezone.now()
    mine = selectors.for_listing(selectors.instances_visible_to(user)).filter(
        Q(started_by=user) | Q(subject__user=user)
    )
    return render(
        request,
        "web/home.html",
        {
            "tasks": tasks[:8],
            "task_count": tasks.count(),
            "overdue_count": tasks.filter(due_at__lt=now).count(),
            "running": mine.filter(ended_at__isnull=True).order_by("-started_at")[:5],
            "notifications": selectors.notification_list(user)[:5],
        },
    )
