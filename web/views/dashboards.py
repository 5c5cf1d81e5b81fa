"""Group HR dashboards: charts over the metrics API (which decides who may see what)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from web import vendor
from web.context import navigation


@login_required
def dashboards(request):
    if not navigation(request).get("can_see_dashboards"):
        raise PermissionDenied("group HR, clinic HR and auditors only")
    return render(
        request, "web/dashboards.html", {"charts_installed": vendor.is_installed(vendor.CHART)}
    )
