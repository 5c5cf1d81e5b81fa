"""Group HR dashboards: charts over the metrics API (which decides who may see what)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from web import vendor


@login_required
def dashboards(request):
    return render(
        request, "web/dashboards.html", {"charts_installed": vendor.is_installed(vendor.CHART)}
    )
