"""Service-task operations: the only functions a diagram can call.

Domain apps register operations by name (`@operation("hr.employee_profile")`); a
service task naming anything else is refused at deploy. An operation receives the
calling instance's context and the evaluated parameters, and returns JSON-ready data.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OperationContext:
    """Which instance is calling, for operations that act on its subject."""

    instance_id: int | None
    subject_employee_id: int | None
    org_unit_id: int | None


class UnknownOperation(LookupError):
    pass


Operation = Callable[..., Any]
_OPERATIONS: dict[str, Operation] = {}
# Operations that act hard on people (revoke access, grant or deduct pay, change eligibility,
# close feedback): a version that adds or changes a call to one becomes current only once a
# second person approves the deploy (workflows.services.version_deploy).
_HIGH_IMPACT: set[str] = set()


def operation(name: str, *, high_impact: bool = False) -> Callable[[Operation], Operation]:
    """Register `fn(ctx: OperationContext, **params)` under `name`."""

    def register(fn: Operation) -> Operation:
        if name in _OPERATIONS and _OPERATIONS[name] is not fn:
            raise ValueError(f"operation {name!r} is registered twice")
        _OPERATIONS[name] = fn
        if high_impact:
            _HIGH_IMPACT.add(name)
        return fn

    return register


def is_registered(name: str) -> bool:
    return name in _OPERATIONS


def is_high_impact(name: str) -> bool:
    """Was `name` registered with `high_impact=True`?"""
    return name in _HIGH_IMPACT


def registered_names() -> list[str]:
    return sorted(_OPERATIONS)


def call(name: str, ctx: OperationContext, params: dict[str, Any]) -> Any:
    try:
        fn = _OPERATIONS[name]
    except KeyError:
        raise UnknownOperation(f"no service operation named {name!r}") from None
    return fn(ctx, **params)
