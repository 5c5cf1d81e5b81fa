"""Start a process (the ones I may start, with their start forms) and follow my processes."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render

from workflows import assignment, selectors


@login_required
def process_list(request):
    return render(
        request, "web/processes.html", {"versions": selectors.startable_versions(request.user)}
    )


@login_required
def process_start(request, key: str):
    version = next(
        (v for v in selectors.startable_versions(request.user) if v.definition.key == key), None
    )
    if version is None:
        raise Http404("you cannot start this process")
    lane = version.summary.get("start_lane", "")
    subjects = assignment.startable_subjects(request.user, start_lane=lane)
    summary = version.summary
    return render(
        request,
        "web/start.html",
        {
            "version": version,
            "subjects": subjects,
            "is_about_myself": assignment.lane_key(lane) in ("employee", "initiator"),
            "form": {
                "schema": version.forms.get(summary.get("start_form") or ""),
                "ui_schema": version.forms.get(summary.get("start_ui_form") or ""),
                "data": {},
            },
        },
    )


@login_required
def instance_list(request):
    user = request.user
    instances = (
        selectors.for_listing(selectors.instances_visible_to(user))
        .filter(Q(started_by=user) | Q(subject__user=user))
        .order_by("-started_at", "-id")[:100]
    )
    instances = list(instances)
    waiting = selectors.open_tasks([i.pk for i in instances])
    for instance in instances:
        instance.waiting = waiting[instance.pk]
    return render(request, "web/instances.html", {"instances": instances})
