"""Words the pages show for codes the engine stores (event kinds)."""

from django.utils.translation import gettext_lazy as _

EVENT_KINDS = {
    "instance_started": _("Process started"),
    "instance_completed": _("Process completed"),
    "instance_terminated": _("Process terminated"),
    "instance_suspended": _("Process suspended"),
    "instance_resumed": _("Process resumed"),
    "task_created": _("Task created"),
    "task_claimed": _("Task claimed"),
    "task_unclaimed": _("Task released"),
    "task_delegated": _("Task delegated"),
    "task_completed": _("Task completed"),
    "task_cancelled": _("Task cancelled"),
    "timer_fired": _("Timer fired"),
    "service_retry_scheduled": _("Service task retry scheduled"),
    "message_correlated": _("Message received"),
    "incident_opened": _("Incident opened"),
    "incident_resolved": _("Incident resolved"),
    "version_migrated": _("Moved to another version"),
}
