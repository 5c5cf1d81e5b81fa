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


def operation(name: str) -> Callable[[Operation], Operation]:
    """Register `fn(ctx: OperationContext, **params)` under `name`."""

    def register(fn: Operation) -> Operation:
        if name in _OPERATIONS and _OPERATIONS[name] is not fn:
            raise ValueError(f"operation {name!r} is registered twice")
        _OPERATIONS[name] = fn
        return fn

    return register


def is_registered(name: str) -> bool:
    return name in _OPERATIONS


def registered_names() -> list[str]:
    return sorted(_OPERATIONS)


def call(name: str, ctx: OperationContext, params: dict[str, Any]) -> Any:
    try:
        fn = _OPERATIONS[name]
    except KeyError:
        raise UnknownOperation(f"no service operation named {name!r}") from None
    return fn(ctx, **params)
