"""Hand committed side effects to the task queue, never from inside an open transaction.

The rows (a Delivery, a Timer) are written in the caller's transaction; these functions
register what to enqueue once it commits. If it rolls back, nothing is enqueued. The queue
is reached through the dispatcher named by CAREFLOW["DISPATCHER"] (Celery's lives in
`workers.dispatch`), so this package never imports the workers.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


class Dispatcher(Protocol):
    """Enqueues work by id; must not raise when the queue is unreachable (the sweep retries)."""

    def deliver(self, delivery_id: int) -> None: ...

    def fire_timer(self, timer_id: int, due_at: datetime) -> None: ...


class NoDispatcher:
    """Enqueue nothing: the periodic sweep alone sends deliveries and fires timers."""

    def deliver(self, delivery_id: int) -> None:
        return None

    def fire_timer(self, timer_id: int, due_at: datetime) -> None:
        return None


def dispatcher() -> Dispatcher:
    path = settings.CAREFLOW.get("DISPATCHER")
    return import_string(path) if path else NoDispatcher()


def deliver_on_commit(delivery_id: int) -> None:
    """Send the delivery once the current transaction commits."""
    transaction.on_commit(partial(_deliver, delivery_id), robust=True)


def fire_timer_on_commit(timer_id: int, due_at: datetime) -> None:
    """Ask for the timer to be fired at its due time, once the current transaction commits."""
    transaction.on_commit(partial(_fire_timer, timer_id, due_at), robust=True)


def _deliver(delivery_id: int) -> None:
    dispatcher().deliver(delivery_id)


def _fire_timer(timer_id: int, due_at: datetime) -> None:
    dispatcher().fire_timer(timer_id, due_at)
