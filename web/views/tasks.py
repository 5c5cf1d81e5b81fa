"""The task list and one task: its form, claim / unclaim / delegate, complete (the writes go
through the REST API from the page, so the server's rules and errors are the API's)."""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render

from api.sensitive import shown
from workflows import selectors
from workflows.models import HumanTask, ProcessDefinition


def inbox_rows(user):
    """The inbox with what web/_task_rows.html shows, in one query (no state read)."""
    return (
        selectors.inbox(user)
        .select_related(
            "instance__definition", "instance__subject", "assignee", "candidate_org_unit"
        )
        .defer("instance__state")
    )


@login_required
def task_list(request):
    user = request.user
    tasks = inbox_rows(user)
    process = request.GET.get("process", "")
    if process:
        tasks = tasks.filter(instance__definition__key=process)
    personal = Q(assignee=user) | Q(candidate_user=user)
    completed = None
    if request.GET.get("completed", "").isdigit():
        completed = selectors.task_visible_to(user, int(request.GET["completed"]))
    return render(
        request,
        "web/tasks.html",
        {
            "mine": tasks.filter(personal),
            "for_roles": tasks.exclude(personal),
            "process": process,
            "processes": ProcessDefinition.objects.order_by("key"),
            "completed": completed,
        },
    )


@login_required
def task_detail(request, task_id: int):
    task = selectors.task_visible_to(request.user, task_id)
    if task is None:
        raise Http404("no such task")
    task = (
        HumanTask.objects.select_related(
            "instance__definition", "instance__version", "instance__subject", "assignee"
        )
        .filter(pk=task.pk)
        .get()
    )
    form = selectors.task_form(task)
    # Sealed values as this reader may see them, as the task API shows them.
    form["data"] = shown(request, task.instance, form["data"], task=task)
    return render(request, "web/task.html", {"task": task, "form": form, "instance": task.instance})
