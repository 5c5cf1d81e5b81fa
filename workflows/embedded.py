"""Laptop mode: without a broker, the development server sweeps timers and deliveries itself.

`make run` has no Redis and no Celery worker (tasks run eagerly, in-process). So that timers
still fire and failed deliveries are retried, the `runserver` process starts one daemon
thread that runs the same sweep as Celery beat every CAREFLOW_TIMER_SWEEP_SECONDS. Only the
process that serves requests starts it (the autoreloader's child, or `--noreload`), never a
management command, a test run, or a deployment that has a broker.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_started: threading.Thread | None = None
_lock = threading.Lock()


def is_serving_process(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Is this the process where `manage.py runserver` serves requests?"""
    if len(argv) < 2 or argv[1] != "runserver":
        return False
    return environ.get("RUN_MAIN") == "true" or "--noreload" in argv


def should_sweep(argv: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> bool:
    argv = argv or sys.argv
    environ = os.environ if environ is None else environ
    return (
        not settings.CELERY_BROKER_URL
        and settings.CAREFLOW.get("EMBEDDED_SWEEP", True)
        and is_serving_process(argv, environ)
    )


def sweep_once() -> None:
    """One round of what Celery beat does: fire due timers, re-send pending deliveries."""
    from workflows import notifications, services

    services.timer_fire_due()
    notifications.delivery_redispatch_due()


def _loop(stop: threading.Event, period: float, sweep: Callable[[], None]) -> None:
    while not stop.wait(period):
        try:
            sweep()
        except Exception:  # noqa: BLE001 - a bad round must not end the sweeper
            logger.exception("embedded timer sweep failed")
        finally:
            close_old_connections()


def start(
    *,
    period: float | None = None,
    stop: threading.Event | None = None,
    sweep: Callable[[], None] = sweep_once,
) -> threading.Thread:
    """Start the sweeper thread once per process; later calls return the running one."""
    global _started
    with _lock:
        if _started is not None and _started.is_alive():
            return _started
        period = period or float(settings.CAREFLOW["TIMER_SWEEP_SECONDS"])
        thread = threading.Thread(
            target=_loop,
            args=(stop or threading.Event(), period, sweep),
            name="careflow-embedded-sweep",
            daemon=True,
        )
        thread.start()
        _started = thread
        logger.info("no CELERY_BROKER_URL: this process sweeps timers every %.0f s", period)
        return thread
