"""Revealing sealed form fields (workflows/sensitive.py) to the readers allowed to see them.

The subject employee and HR over them read the plaintext, and each such read is written to
the access log; every other reader (supervisors, auditors, process owners) gets a mask."""

from typing import Any

from hr.selectors import may_see_private
from hr.services.privacy import access_record
from workflows import sensitive
from workflows.models import ProcessInstance


def shown(request, instance: ProcessInstance, value: Any) -> Any:
    """`value` (task data, event payloads) as the requesting user may see it."""
    subject = instance.subject
    may_read = subject is not None and may_see_private(request.user, subject)
    revealed, fields = sensitive.reveal(value, may_read=may_read)
    if may_read and fields:
        access_record(
            user=request.user,
            employee=subject,
            fields=[f"{instance.definition.key}.{name}" for name in sorted(fields)],
            endpoint=f"{request.method} {request.path}",
        )
    return revealed
