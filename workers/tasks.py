"""Celery tasks: thin wrappers that take ids and call one service; each is safe to run twice."""

from celery import shared_task

from hr.services import family, stories
from hr.services import licences as licence_services
from workflows import notifications, services


@shared_task(name="workers.fire_due_timers")
def fire_due_timers() -> int:
    """Periodic sweep (beat): fire the timers and service retries that are due."""
    return services.timer_fire_due()


@shared_task(name="workers.fire_timer")
def fire_timer(timer_id: int) -> bool:
    """Fire one timer at its ETA, sooner than the next sweep; the row decides if it is due."""
    return services.timer_fire(timer_id=timer_id)


@shared_task(name="workers.deliver_notification")
def deliver_notification(delivery_id: int) -> str | None:
    """Send one outbox row (email, webhook); a delivered row is left alone. A failed row's
    next try is queued by the redispatch sweep once its backoff has passed."""
    delivery = notifications.delivery_send(delivery_id=delivery_id)
    return delivery.status if delivery is not None else None


@shared_task(name="workers.redispatch_deliveries")
def redispatch_deliveries() -> int:
    """Periodic sweep (beat): queue again the deliveries still pending (broker was down,
    or waiting for their next try)."""
    return notifications.delivery_redispatch_due()


@shared_task(name="workers.family_birthday_reminders")
def family_birthday_reminders() -> int:
    """Daily (beat): start the birthday greetings due; a child already reminded this year is
    skipped, so running twice is harmless."""
    return len(family.family_birthday_reminders_send())


@shared_task(name="workers.story_monthly_award")
def story_monthly_award() -> int | None:
    """Monthly (beat, on the 1st): open last month's story award round, once."""
    award = stories.story_monthly_award_start()
    return award.pk if award is not None else None


@shared_task(name="workers.scan_licence_renewals")
def scan_licence_renewals() -> int:
    """Daily (beat): start a renewal for every credential 3 months from expiry; credentials
    that have one already are left alone, so a second run the same day starts nothing."""
    return len(licence_services.licence_renewal_scan())
