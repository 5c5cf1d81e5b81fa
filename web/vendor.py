"""The front-end packages that `make setup` copies from npm into web/static/vendor/."""

from django.contrib.staticfiles import finders

BPMN_VIEWER = "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"
BPMN_MODELER = "vendor/bpmn-js/bpmn-modeler.production.min.js"
CHART = "vendor/chart.js/chart.umd.min.js"


def is_installed(path: str) -> bool:
    """Was the vendor file built at setup (Node.js present)? Pages say so when it was not."""
    return finders.find(path) is not None
