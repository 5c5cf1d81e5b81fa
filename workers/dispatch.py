"""The Celery side of workflows.outbox: enqueue by id, after commit, never failing the caller.

If the broker cannot be reached the row simply stays pending in the database; the periodic
sweep (beat, or the embedded sweeper) queues it again once the broker is back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from config.celery import app
from workers import tasks

logger = logging.getLogger(__name__)

# Celery's ETA has millisecond precision; SpiffWorkflow fires only once the due time is past.
_AFTER_DUE = timedelta(milliseconds=5)


class CeleryDispatcher:
    """Queues work for the Celery workers (in-process when tasks run eagerly)."""

    def deliver(self, delivery_id: int) -> None:
        try:
            tasks.deliver_notification.delay(delivery_id)
        except Exception:  # noqa: BLE001 - broker down: the sweep re-sends pending rows
            logger.warning(
                "could not queue delivery %s; the sweep will send it", delivery_id, exc_info=True
            )

    def fire_timer(self, timer_id: int, due_at: datetime) -> None:
        if app.conf.task_always_eager:
            # No broker: an ETA cannot wait in-process; the embedded sweeper fires it.
            return
        try:
            tasks.fire_timer.apply_async((timer_id,), eta=max(due_at, timezone.now()) + _AFTER_DUE)
        except Exception:  # noqa: BLE001 - broker down: the sweep fires the row when due
            logger.warning(
                "could not queue timer %s; the sweep will fire it", timer_id, exc_info=True
            )


celery_dispatcher = CeleryDispatcher()
