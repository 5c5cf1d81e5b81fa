"""Writes about personal data: changing an employee's private fields, logging who read them."""

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from hr.models import Employee, SensitiveAccess
from hr.selectors import editable_fields
from workflows.exceptions import NotAllowed

logger = logging.getLogger(__name__)


def access_record(
    *, user: AbstractBaseUser, employee: Employee, fields: list[str], endpoint: str
) -> SensitiveAccess:
    """Append to the access log that `user` was shown `fields` of `employee` at `endpoint`."""
    return SensitiveAccess.objects.create(
        user=user if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "",
        employee=employee,
        employee_no=employee.employee_no,
        fields=sorted(fields),
        endpoint=endpoint[:300],
    )


def employee_update_private(
    *, employee: Employee, actor: AbstractBaseUser, changes: dict[str, Any]
) -> Employee:
    """Change private fields of `employee`; each must be one `actor` may edit (else NotAllowed)."""
    refused = sorted(set(changes) - editable_fields(actor, employee))
    if refused:
        raise NotAllowed("you may not change " + ", ".join(refused))
    if not changes:
        return employee
    with transaction.atomic():
        for name, value in changes.items():
            setattr(employee, name, value)
        employee.save(update_fields=sorted(changes))
    # Names of the fields only: their values are personal data and stay out of the logs.
    logger.info(
        "employee %s: %s changed by %s",
        employee.employee_no,
        ", ".join(sorted(changes)),
        actor.get_username(),
    )
    return employee
