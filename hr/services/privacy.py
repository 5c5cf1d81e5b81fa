"""Writes about personal data: changing an employee's private fields, logging who read them."""

import logging
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from hr import crypto
from hr.models import Employee, SensitiveAccess
from hr.selectors import editable_fields
from workflows.exceptions import InvalidInput, NotAllowed

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


def _check_readable(employee: Employee) -> None:
    """The record, as the answer shows it, must decrypt: a value under a field key this
    server does not hold (CAREFLOW_FIELD_KEYS) is refused before anything is written, where it
    used to be found only while answering, after the change had been committed."""
    try:
        list(employee.family.all())
    except crypto.DecryptionFailed:
        raise InvalidInput(
            [
                {
                    "field": "family.name",
                    "message": "a stored value cannot be decrypted with the configured field "
                    "keys; nothing was changed",
                }
            ]
        ) from None


def employee_update_private(
    *, employee: Employee, actor: AbstractBaseUser, changes: dict[str, Any]
) -> Employee:
    """Change private fields of `employee`; each must be one `actor` may edit (else NotAllowed).

    Everything is checked before the first write (who may change what, that the record can be
    read back); call it inside the caller's transaction when the answer is built after it."""
    refused = sorted(set(changes) - editable_fields(actor, employee))
    if refused:
        raise NotAllowed("you may not change " + ", ".join(refused))
    if not changes:
        return employee
    _check_readable(employee)
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
