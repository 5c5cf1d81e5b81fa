"""The process modeler for process owners: open a deployed version, edit, deploy as new."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, render

from web import vendor
from web.context import navigation
from workflows import selectors
from workflows.models import ProcessDefinition, ProcessVersion

RECENT_DECISIONS = 20


def _require_owner(request) -> None:
    # The same rule as the deploy endpoint (api.permissions.IsProcessOwner).
    if not navigation(request).get("can_model"):
        raise PermissionDenied("process owners only")


@login_required
def modeler_list(request):
    _require_owner(request)
    released = Q(versions__approval_status__in=ProcessVersion.RELEASED)
    pending = Q(versions__approval_status=ProcessVersion.Approval.PENDING)
    definitions = ProcessDefinition.objects.annotate(
        latest=Max("versions__number", filter=released),
        pending=Count("versions", filter=pending),
    ).order_by("key")
    return render(request, "web/modeler_list.html", {"definitions": definitions})


@login_required
def modeler(request, key: str):
    _require_owner(request)
    definition = get_object_or_404(ProcessDefinition, key=key)
    versions = list(definition.versions.order_by("-number"))
    number = request.GET.get("version", "")
    # Opened by default: the current version, the one new instances start on.
    current = next((v for v in versions if v.is_released), versions[0])
    version = next((v for v in versions if str(v.number) == number), current)
    return render(
        request,
        "web/modeler.html",
        {
            "definition": definition,
            "version": version,
            "versions": versions,
            "current": current,
            "pending_versions": [
                v for v in versions if v.approval_status == ProcessVersion.Approval.PENDING
            ],
            "main_file": selectors.version_main_file(version),
            "modeler_installed": vendor.is_installed(vendor.BPMN_MODELER),
        },
    )


@login_required
def deploy_reviews(request):
    """Deploys waiting for a second person (four-eyes deploy) with their diff: group HR approve
    or reject them (never their own); process owners see theirs waiting."""
    nav = navigation(request)
    if not (nav.get("can_model") or nav.get("can_review_deploys")):
        raise PermissionDenied("process owners and group HR only")
    versions = ProcessVersion.objects.select_related(
        "definition", "deployed_by", "reviewed_by", "base_version"
    )
    pending = [
        {
            "version": version,
            "diff": selectors.deployment_diff(version),
            "may_decide": (
                nav.get("can_review_deploys") and version.deployed_by_id != request.user.pk
            ),
        }
        for version in versions.filter(approval_status=ProcessVersion.Approval.PENDING).order_by(
            "deployed_at", "id"
        )
    ]
    decided = versions.filter(
        approval_status__in=[ProcessVersion.Approval.APPROVED, ProcessVersion.Approval.REJECTED]
    ).order_by("-reviewed_at", "-id")[:RECENT_DECISIONS]
    return render(request, "web/deploy_reviews.html", {"pending": pending, "decided": decided})
