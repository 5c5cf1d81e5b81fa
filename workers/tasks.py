"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

from workflows import services


@shared_task(name="workers.fire_due_timers")
def fire_due_timers() -> int:
    """Periodic sweep: fire the timers that are due."""
    return services.timer_fire_due()
