"""The instance cockpit: diagram with element states, timeline, incidents, operator actions."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from web import vendor
from workflows import selectors


@login_required
def instance_cockpit(request, instance_id: int):
    instance = selectors.instances_visible_to(request.user).filter(pk=instance_id).first()
    if instance is None:
        raise Http404("no such process instance")
    version = instance.version
    main_file = selectors.version_main_file(version)
    tasks = instance.tasks.select_related("assignee", "completed_by").order_by("created_at", "id")
    return render(
        request,
        "web/cockpit.html",
        {
            "instance": instance,
            "events": selectors.instance_events(instance),
            "incidents": instance.incidents.select_related("resolved_by").order_by("-created_at"),
            "tasks": tasks,
            "viewer_installed": vendor.is_installed(vendor.BPMN_VIEWER),
            "element_names": {
                k: v.get("name", k) for k, v in version.summary.get("user_tasks", {}).items()
            },
            "diagram": {
                "xml": version.bpmn_files[main_file],
                "states": selectors.instance_element_states(instance),
            },
        },
    )
