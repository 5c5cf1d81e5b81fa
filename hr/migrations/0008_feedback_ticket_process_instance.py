"""Tie each feedback ticket to the feedback_closure instance that handles it, so only that
instance's service tasks may act on it (hr/operations/scopes.py)."""

from django.db import migrations, models


def tie_existing_tickets(apps, schema_editor):
    # Until now the tie was only the ticket_id in the instance's start data; feedback_closure
    # is started by POST /feedback alone, and its first instance for a ticket is the one.
    FeedbackTicket = apps.get_model("hr", "FeedbackTicket")
    WorkflowEvent = apps.get_model("workflows", "WorkflowEvent")
    started = WorkflowEvent.objects.filter(
        kind="instance_started", instance__definition__key="feedback_closure"
    ).order_by("instance_id")
    tied: dict[int, int] = {}
    for instance_id, data in started.values_list("instance_id", "data").iterator():
        ticket_id = ((data or {}).get("data") or {}).get("ticket_id")
        if isinstance(ticket_id, int) and ticket_id not in tied:
            tied[ticket_id] = instance_id
    for ticket in FeedbackTicket.objects.filter(pk__in=tied, process_instance_id__isnull=True):
        ticket.process_instance_id = tied[ticket.pk]
        ticket.save(update_fields=["process_instance_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("hr", "0007_working_calendar"),
        ("workflows", "0003_documents"),
    ]

    operations = [
        migrations.AddField(
            model_name="feedbackticket",
            name="process_instance_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(tie_existing_tickets, migrations.RunPython.noop),
    ]
