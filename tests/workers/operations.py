"""Service-task operations the timer and worker tests' diagrams call (test.*).

Imported by the tests and by the worker processes they start, so both know them.
"""

import os
import time
from pathlib import Path

from workflows.registry import OperationContext, Scope, operation


class Payroll:
    """The outside payroll system `test.overtime_payroll` stands in for."""

    is_down = False
    calls = 0


@operation("test.overtime_payroll", scope=Scope.SUBJECT)
def overtime_payroll(ctx: OperationContext, hours: int) -> dict:
    Payroll.calls += 1
    if Payroll.is_down:
        raise ConnectionError("payroll system unreachable")
    return {"recorded_hours": hours, "employee_id": ctx.subject_employee_id}


@operation("test.slow_registry", scope=Scope.INSTANCE)
def slow_registry(ctx: OperationContext) -> dict:
    """Blocks the first caller for a long time (so a test can kill its worker mid-step);
    every later caller returns at once. The first caller leaves a marker file."""
    marker = os.environ.get("CAREFLOW_TEST_BLOCK_FILE")
    if marker and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        time.sleep(120)
    return {"recorded": True}
