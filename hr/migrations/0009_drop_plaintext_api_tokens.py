"""API tokens moved from rest_framework.authtoken (the token itself in the table) to
django-rest-knox (a digest only). The old table is dropped with every plaintext token in it:
clients sign in again (POST /api/v1/auth/token) or get a new token (manage.py issue_token)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("hr", "0008_feedback_ticket_process_instance")]

    operations = [
        migrations.RunSQL(
            "DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop
        ),
    ]
