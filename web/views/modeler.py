"""The process modeler for process owners: open a deployed version, edit, deploy as new."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.shortcuts import get_object_or_404, render

from web import vendor
from web.context import navigation
from workflows import selectors
from workflows.models import ProcessDefinition


def _require_owner(request) -> None:
    # The same rule as the deploy endpoint (api.permissions.IsProcessOwner).
    if not navigation(request).get("can_model"):
        raise PermissionDenied("process owners only")


@login_required
def modeler_list(request):
    _require_owner(request)
    definitions = ProcessDefinition.objects.annotate(latest=Max("versions__number")).order_by("key")
    return render(request, "web/modeler_list.html", {"definitions": definitions})


@login_required
def modeler(request, key: str):
    _require_owner(request)
    definition = get_object_or_404(ProcessDefinition, key=key)
    versions = list(definition.versions.order_by("-number"))
    number = request.GET.get("version", "")
    version = next((v for v in versions if str(v.number) == number), versions[0])
    return render(
        request,
        "web/modeler.html",
        {
            "definition": definition,
            "version": version,
            "versions": versions,
            "main_file": selectors.version_main_file(version),
            "modeler_installed": vendor.is_installed(vendor.BPMN_MODELER),
        },
    )
