"""Service-task operations: the only functions a diagram can call.

Domain apps register operations by name; a service task naming anything else is refused at
deploy. An operation receives the calling instance's context and the evaluated parameters,
and returns JSON-ready data.

A process owner is trusted to draw processes, not to act on people, and every parameter of a
service task is diagram data. So each registration declares its scope, and the registry
checks it before the function runs (an operation cannot forget):

    @operation(
        "hr.licence_expiry_restrict",
        scope=Scope.SUBJECT,
        ids={"credential_id": CREDENTIAL_RENEWED_HERE},
    )

- `scope` says what the operation acts on: the instance's subject (`SUBJECT`), records this
  instance created or is tied to (`INSTANCE`), or people and units of the instance's org unit
  (`ORG_UNIT`). The instance must have what its scope names: an instance without a subject
  (a system scan's, an anonymous ticket's) cannot call a `SUBJECT` operation.
- `ids` names every parameter that selects a record (each `*_id` / `*_ids` parameter must be
  named, or the registration fails at import) with the rule its value must meet in this
  instance. A value outside it is refused with `OperationOutOfScope` before the function is
  called: the service task fails, the instance gets an incident naming the element, and
  nothing was changed.
"""

import enum
import inspect
from collections.abc import Callable, Mapping
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


class OperationOutOfScope(Exception):
    """Diagram data asked an operation to act outside the calling instance's scope."""


class Scope(enum.StrEnum):
    """What an operation may act on."""

    # The instance's subject (employee) and records that belong to them.
    SUBJECT = "subject"
    # Records this instance created or is tied to (its ticket, story, award round, notice).
    INSTANCE = "instance"
    # People and units of the instance's org unit (its clinic subtree), e.g. notifications.
    ORG_UNIT = "org_unit"


@dataclass(frozen=True)
class IdRule:
    """How one id parameter is checked against the calling instance.

    `allows(ctx, value)` answers whether the value is within the instance's scope; `meaning`
    completes "must be ..." in the refusal."""

    meaning: str
    allows: Callable[[OperationContext, Any], bool]


@dataclass(frozen=True)
class OperationSpec:
    """A registered operation and its declared scope."""

    name: str
    fn: Callable[..., Any]
    scope: Scope
    ids: Mapping[str, IdRule]


Operation = Callable[..., Any]
_OPERATIONS: dict[str, Operation] = {}
# Operations that act hard on people (revoke access, grant or deduct pay, change eligibility,
# close feedback): a version that adds or changes a call to one becomes current only once a
# second person approves the deploy (workflows.services.version_deploy).
_HIGH_IMPACT: set[str] = set()
_SPECS: dict[str, OperationSpec] = {}


def _is_id_parameter(name: str) -> bool:
    return name.endswith(("_id", "_ids"))


def operation(
    name: str,
    *,
    scope: Scope | None = None,
    ids: Mapping[str, IdRule] | None = None,
    high_impact: bool = False,
) -> Callable[[Operation], Operation]:
    """Register `fn(ctx: OperationContext, **params)` under `name`, acting within `scope`;
    `ids` gives the rule of every parameter that selects a record; `high_impact` marks an
    operation whose new or changed calls need a second person's approval of the deploy."""
    if not isinstance(scope, Scope):
        raise ValueError(
            f"operation {name!r} declares no scope: say what it acts on "
            "(scope=Scope.SUBJECT, Scope.INSTANCE or Scope.ORG_UNIT)"
        )
    rules = dict(ids or {})

    def register(fn: Operation) -> Operation:
        if name in _OPERATIONS and _OPERATIONS[name] is not fn:
            raise ValueError(f"operation {name!r} is registered twice")
        params = list(inspect.signature(fn).parameters)[1:]
        unknown = sorted(set(rules) - set(params))
        if unknown:
            raise ValueError(f"operation {name!r} declares rules for no parameter: {unknown}")
        unchecked = sorted(p for p in params if _is_id_parameter(p) and p not in rules)
        if unchecked:
            raise ValueError(
                f"operation {name!r} takes {', '.join(unchecked)} from diagram data without a "
                "rule: declare it in ids={...}"
            )
        _OPERATIONS[name] = fn
        _SPECS[name] = OperationSpec(name=name, fn=fn, scope=scope, ids=rules)
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


def spec(name: str) -> OperationSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise UnknownOperation(f"no service operation named {name!r}") from None


_NEEDS = {
    Scope.SUBJECT: ("subject_employee_id", "an instance about an employee (its subject)"),
    Scope.INSTANCE: ("instance_id", "a process instance"),
    Scope.ORG_UNIT: ("org_unit_id", "an instance with an org unit"),
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_scope(name: str, ctx: OperationContext, params: dict[str, Any]) -> None:
    """Refuse (OperationOutOfScope) a call outside the operation's declared scope."""
    found = spec(name)
    field, needed = _NEEDS[found.scope]
    if getattr(ctx, field) is None:
        raise OperationOutOfScope(f"{name} needs {needed}; nothing was changed")
    for param, rule in found.ids.items():
        if param not in params:
            continue
        value = params[param]
        try:
            allowed = rule.allows(ctx, value)
        except (TypeError, ValueError, LookupError):
            allowed = False
        if not allowed:
            raise OperationOutOfScope(
                f"{name}: {param} {_shown(value)} is outside this instance's scope (must be "
                f"{rule.meaning}); nothing was changed"
            )


def call(name: str, ctx: OperationContext, params: dict[str, Any]) -> Any:
    try:
        fn = _OPERATIONS[name]
    except KeyError:
        raise UnknownOperation(f"no service operation named {name!r}") from None
    check_scope(name, ctx, params)
    return fn(ctx, **params)
