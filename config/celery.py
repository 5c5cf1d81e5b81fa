"""The Celery app: configured from Django settings (CELERY_*), JSON only."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("careflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])


@worker_process_init.connect
def _tune_worker_process(**_kwargs):
    """Each pool process, once started: the same GC tuning as the web workers."""
    from config.runtime import tune_gc

    tune_gc()
