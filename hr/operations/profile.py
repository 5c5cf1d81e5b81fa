"""The hr operations BPMN service tasks may call (registered by name)."""

from typing import Any

from hr.models import Employee
from hr.operations.scopes import SUBJECT_ITSELF
from hr.selectors import open_duty_restrictions
from workflows.registry import OperationContext, Scope, operation


@operation("hr.employee_profile", scope=Scope.SUBJECT, ids={"employee_id": SUBJECT_ITSELF})
def employee_profile(ctx: OperationContext, employee_id: int | None = None) -> dict[str, Any]:
    """Work profile of an employee (the instance's subject when no id is given)."""
    employee_id = employee_id if employee_id is not None else ctx.subject_employee_id
    employee = Employee.objects.select_related("org_unit").get(pk=employee_id)
    return {
        "employee_id": employee.pk,
        "employee_no": employee.employee_no,
        "name": employee.name,
        "role_family": employee.role_family,
        "position": employee.position,
        "org_unit_id": employee.org_unit_id,
        "hire_date": employee.hire_date.isoformat() if employee.hire_date else None,
        # Roles the employee may not work in: credentials that expired unrenewed.
        "duty_restrictions": [r.credential.kind for r in open_duty_restrictions(employee)],
    }
