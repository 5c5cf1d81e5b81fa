"""Who may work a user task: a lane names a role relative to the instance.

Lanes are named by role, optionally followed by the Chinese name in brackets:
"Supervisor (护士长/科室主任)". Each resolves against the instance's subject
employee and org unit to a named user or a (role, org unit) pair. A lane that judges the
subject never resolves to the subject alone: it goes one level up (the rule is written out
above `_one_level_up`).
"""

import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from hr.models import Employee, OrgUnit, RoleAssignment
from hr.selectors import has_role, holds_role_over
from workflows.models import HumanTask


class LaneUnresolvable(Exception):
    """A lane cannot be turned into candidates for this instance."""


@dataclass(frozen=True)
class Candidates:
    user: AbstractBaseUser | None = None
    role: str = ""
    org_unit: OrgUnit | None = None
    # Why the lane went above what it names (it would have reached the subject alone), or "".
    escalated: str = ""


@dataclass(frozen=True)
class InstanceContext:
    subject: Employee | None
    org_unit: OrgUnit | None
    started_by: AbstractBaseUser | None
    data: dict[str, Any]

    @property
    def home_unit(self) -> OrgUnit | None:
        if self.org_unit is not None:
            return self.org_unit
        return self.subject.org_unit if self.subject is not None else None


Role = RoleAssignment.Role

# Lane keys and the names people write in diagrams, English and Chinese.
_ALIASES = {
    "employee": ["employee", "员工", "subject"],
    "supervisor": ["supervisor", "manager", "主管", "护士长", "科室主任"],
    "clinic_hr": ["clinic hr", "clinic_hr", "门店人力资源部", "门店hr", "门诊人力资源部"],
    "group_hr": ["group hr", "group_hr", "集团人力资源部", "集团hr"],
    "department": ["department", "科室", "responsible department", "责任部门"],
    "initiator": ["initiator", "requester", "发起人", "申请人"],
}
_LANE_KEYS = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}


def lane_key(lane: str) -> str | None:
    """The resolver key for a lane name, or None when no resolver knows it."""
    if not lane:
        return "initiator"
    head = re.split(r"\s*[(（/]", lane.strip(), maxsplit=1)[0].strip().lower()
    return _LANE_KEYS.get(head) or _LANE_KEYS.get(lane.strip().lower())


def known_lane_names() -> list[str]:
    return ["Employee", "Supervisor", "Clinic HR", "Group HR", "Department", "Initiator"]


def _user_of(employee: Employee | None, what: str) -> AbstractBaseUser:
    if employee is None or employee.user is None:
        raise LaneUnresolvable(f"{what} has no user account")
    return employee.user


def _employee(ctx: InstanceContext) -> Candidates:
    if ctx.subject is None:
        raise LaneUnresolvable("the Employee lane needs an instance subject")
    return Candidates(user=_user_of(ctx.subject, f"employee {ctx.subject.employee_no}"))


def _supervisor(ctx: InstanceContext) -> Candidates:
    if ctx.subject is not None and ctx.subject.manager is not None:
        return Candidates(user=_user_of(ctx.subject.manager, "the subject's manager"))
    unit = ctx.home_unit
    if unit is None:
        raise LaneUnresolvable("the Supervisor lane needs a subject with a manager or an org unit")
    return Candidates(role=Role.SUPERVISOR, org_unit=unit)


def _clinic_hr(ctx: InstanceContext) -> Candidates:
    unit = ctx.home_unit
    clinic = unit.ancestor_of_kind(OrgUnit.Kind.CLINIC) if unit else None
    if clinic is None:
        raise LaneUnresolvable("the Clinic HR lane needs an instance inside a clinic")
    return Candidates(role=Role.CLINIC_HR, org_unit=clinic)


def _group_hr(ctx: InstanceContext) -> Candidates:
    unit = ctx.home_unit
    group = unit.ancestor_of_kind(OrgUnit.Kind.GROUP) if unit else None
    if group is None:
        group = OrgUnit.objects.filter(kind=OrgUnit.Kind.GROUP).order_by("pk").first()
    if group is None:
        raise LaneUnresolvable("there is no group org unit")
    return Candidates(role=Role.GROUP_HR, org_unit=group)


def _department(ctx: InstanceContext) -> Candidates:
    ref = ctx.data.get("department")
    if ref in (None, ""):
        raise LaneUnresolvable(
            "the Department lane needs a 'department' (org unit code) in the data"
        )
    unit = OrgUnit.objects.filter(code=str(ref)).first()
    if unit is None:
        raise LaneUnresolvable(f"no org unit with code {ref!r}")
    problem = data_unit_out_of_scope(ctx, unit)
    if problem:
        raise LaneUnresolvable(f"department {ref!r} from the process data {problem}")
    return department_takers(unit) or Candidates(role=Role.SUPERVISOR, org_unit=unit)


# A functional department of the group (HR, operations: a unit outside every clinic) often has
# no head nurse or department head; its work goes to the HR role holders of that unit.
GROUP_DEPARTMENT_ROLES = (Role.GROUP_HR, Role.CLINIC_HR)


def department_takers(unit: OrgUnit) -> Candidates | None:
    """Who takes work sent to `unit` in the Department lane, or None when nobody can: its
    head (active holders of the supervisor role at the unit); for a unit of the group's own
    (outside every clinic) without a head, the active holders of group HR at that unit, else of
    clinic HR at that unit. A clinic's department without a head has nobody."""
    if _active_holders(Role.SUPERVISOR, unit):
        return Candidates(role=Role.SUPERVISOR, org_unit=unit)
    if _clinic_of(unit) is None:
        for role in GROUP_DEPARTMENT_ROLES:
            if _active_holders(role, unit):
                return Candidates(role=role, org_unit=unit)
    return None


def _clinic_of(unit: OrgUnit | None) -> OrgUnit | None:
    return unit.ancestor_of_kind(OrgUnit.Kind.CLINIC) if unit is not None else None


def data_unit_out_of_scope(ctx: InstanceContext, unit: OrgUnit) -> str:
    """Why an org unit named by process data is outside the instance's reach ("" when it is
    inside): the clinic of its subject or of its org unit (that clinic's subtree), or the
    group's own units above the clinics. An instance with no subject whose org unit is not in
    a clinic (CareFlow's own group-wide instances, e.g. feedback about no clinic) reaches the
    whole group. Diagram data is the process owner's, so it may not send a task or message
    into another clinic."""
    clinic_of_unit = _clinic_of(unit)
    if clinic_of_unit is None:
        return ""  # the group itself or a unit of group headquarters
    clinics = {
        c.pk: c
        for c in (
            _clinic_of(ctx.org_unit),
            _clinic_of(ctx.subject.org_unit if ctx.subject else None),
        )
        if c is not None
    }
    if clinic_of_unit.pk in clinics:
        return ""
    if ctx.subject is None and not clinics and ctx.org_unit is not None:
        return ""
    if not clinics:
        return (
            f"is in {clinic_of_unit.code}, outside this group-level instance's reach "
            "(the group's own units)"
        )
    inside = ", ".join(sorted(c.code for c in clinics.values()))
    return f"is in {clinic_of_unit.code}, outside this instance's clinic ({inside})"


def _initiator(ctx: InstanceContext) -> Candidates:
    if ctx.started_by is None:
        raise LaneUnresolvable("the instance has no initiator")
    return Candidates(user=ctx.started_by)


_RESOLVERS = {
    "employee": _employee,
    "supervisor": _supervisor,
    "clinic_hr": _clinic_hr,
    "group_hr": _group_hr,
    "department": _department,
    "initiator": _initiator,
}


def resolve(lane: str, ctx: InstanceContext) -> Candidates:
    """Who may work a task in `lane` for this instance. A lane that judges the subject never
    resolves to the subject alone: it goes one level up (see `_one_level_up`)."""
    key = lane_key(lane)
    if key is None:
        raise LaneUnresolvable(f"no resolver for lane {lane!r}")
    candidates = _RESOLVERS[key](ctx)
    if key in SUBJECT_OWN_LANES or not _reaches_subject_alone(candidates, ctx):
        return candidates
    return _one_level_up(key, lane, candidates, ctx)


# --- a lane never resolves to the subject for a task that judges the subject ---------------
#
# The rule, in one place. A task in a lane other than Employee / Initiator decides about the
# instance's subject. When the lane's candidates would be the subject alone (the named user
# is the subject, e.g. an employee recorded as their own manager; or the subject is the only
# active holder of the offered role in the offered unit, e.g. a head nurse with no manager on
# record who is the only supervisor of her ward), the task goes one level up, to the first
# of these that has someone other than the subject:
#   Supervisor / Department lanes: the subject's manager (walking up the manager chain past
#     the subject), then the supervisors of the units above the lane's unit up to the clinic
#     (nearest first), then clinic HR of the subject's clinic, then group HR;
#   Clinic HR lane: group HR;
#   Group HR lane: nobody is above; the lane is unresolvable (an incident an operator sees).
# A role candidate that the subject shares with someone else stays as it is: the others work
# it, and the services refuse the subject (`task_barred`). A role nobody holds is left alone
# too (nobody is reached, not the subject). The escalation is recorded on the task's
# creation event ("escalated").


def _active_holders(role: str, unit: OrgUnit) -> set[int]:
    return set(
        RoleAssignment.objects.filter(role=role, org_unit=unit, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def _subject_user_id(ctx: InstanceContext) -> int | None:
    return ctx.subject.user_id if ctx.subject is not None else None


def _reaches_subject_alone(c: Candidates, ctx: InstanceContext) -> bool:
    subject_user = _subject_user_id(ctx)
    if subject_user is None:
        return False
    if c.user is not None:
        return c.user.pk == subject_user
    if not c.role or c.org_unit is None:
        return False
    return _active_holders(c.role, c.org_unit) == {subject_user}


def _has_someone_else(role: str, unit: OrgUnit | None, ctx: InstanceContext) -> bool:
    return unit is not None and bool(_active_holders(role, unit) - {_subject_user_id(ctx)})


def _managers_above(ctx: InstanceContext):
    """The subject's manager chain, the subject left out (a cycle ends the walk)."""
    subject = ctx.subject
    seen = {subject.pk}
    manager = subject.manager
    while manager is not None and manager.pk not in seen:
        seen.add(manager.pk)
        user = manager.user
        if user is not None and user.is_active and user.pk != subject.user_id:
            yield Candidates(user=user)
            return
        manager = manager.manager


def _levels_above(key: str, c: Candidates, ctx: InstanceContext):
    """The levels above a lane's candidates, nearest first (the rule above)."""
    clinic = _clinic_of(ctx.home_unit)
    if key in ("supervisor", "department"):
        yield from _managers_above(ctx)
        unit = c.org_unit or ctx.home_unit
        above = (
            OrgUnit.objects.filter(pk__in=unit.ancestor_ids)
            .exclude(pk=unit.pk)
            .exclude(kind=OrgUnit.Kind.GROUP)
            .order_by("-path")
            if unit is not None
            else []
        )
        for parent in above:
            if _has_someone_else(Role.SUPERVISOR, parent, ctx):
                yield Candidates(role=Role.SUPERVISOR, org_unit=parent)
        if _has_someone_else(Role.CLINIC_HR, clinic, ctx):
            yield Candidates(role=Role.CLINIC_HR, org_unit=clinic)
    if key in ("supervisor", "department", "clinic_hr"):
        try:
            group = _group_hr(ctx)
        except LaneUnresolvable:
            return
        if _has_someone_else(Role.GROUP_HR, group.org_unit, ctx):
            yield group


def _one_level_up(key: str, lane: str, c: Candidates, ctx: InstanceContext) -> Candidates:
    named = c.user.get_username() if c.user is not None else f"{c.role} of {c.org_unit.code}"
    for up in _levels_above(key, c, ctx):
        return Candidates(
            user=up.user,
            role=up.role,
            org_unit=up.org_unit,
            escalated=f"{lane} would be the subject alone ({named}); one level up",
        )
    raise LaneUnresolvable(
        f"the {lane} lane would offer a task about employee {ctx.subject.employee_no} to that"
        " employee alone, and nobody above them can take it"
    )


def own_lane_q(field: str = "lane") -> Q:
    """Rows whose `field` names a lane where the subject acts for themself (Employee,
    Initiator, or no lane): the same test as `lane_key(...) in SUBJECT_OWN_LANES`, as a query
    (for the inbox, which must not read the instance)."""
    aliases = sorted(
        {re.escape(a) for key in SUBJECT_OWN_LANES for a in _ALIASES[key]}, key=len, reverse=True
    )
    pattern = r"^\s*(" + "|".join(aliases) + r")\s*([(（/].*)?$"
    return Q(**{field: ""}) | Q(**{f"{field}__iregex": pattern})


def may_work(
    user: AbstractBaseUser, *, candidate_user_id: int | None, role: str, org_unit_id: int | None
) -> bool:
    """Is `user` among the task's candidates?"""
    if candidate_user_id is not None:
        return candidate_user_id == user.pk
    if not role or org_unit_id is None:
        return False
    return RoleAssignment.objects.filter(user=user, role=role, org_unit_id=org_unit_id).exists()


# Lanes where the subject acts for themself. A task in any other lane decides about the
# subject (an approval, a review, the steps of their offboarding), so the subject never works
# it: not by being offered it, by claiming it, nor by being handed it.
SUBJECT_OWN_LANES = frozenset({"employee", "initiator"})


def judges_subject(lane: str) -> bool:
    """Does a task in `lane` decide about the instance's subject? (An unknown lane does.)"""
    return lane_key(lane) not in SUBJECT_OWN_LANES


def _task_context(task: HumanTask) -> InstanceContext:
    instance = task.instance
    return InstanceContext(
        subject=instance.subject,
        org_unit=instance.org_unit,
        started_by=instance.started_by,
        data={},
    )


def task_barred(user: AbstractBaseUser, task: HumanTask) -> str:
    """Why `user` may never work `task`, whoever offers or hands it to them (the four-eyes
    rule), or "" when nothing bars them."""
    instance = task.instance
    subject = instance.subject
    if subject is not None and subject.user_id == user.pk and judges_subject(task.lane):
        return "decides about the employee it is for, so that employee may not work it"
    if instance.started_by_id == user.pk and task.is_not_by_initiator:
        return "needs someone other than the one who started the process"
    return ""


def stand_in(lane: str, ctx: InstanceContext) -> Candidates | None:
    """Who may take over a lane's task that names one person: for the subject's manager (the
    Supervisor lane), any supervisor of the subject's unit, whom the lane offers the task to
    when there is no manager. The Employee and Initiator lanes have no stand-in."""
    if lane_key(lane) != "supervisor" or ctx.home_unit is None:
        return None
    return Candidates(role=Role.SUPERVISOR, org_unit=ctx.home_unit)


def task_receivers(task: HumanTask) -> QuerySet:
    """The active users `task` may be handed to: those who could work it (its candidates, or
    holders of its lane's role in scope) less those the four-eyes rule bars."""
    ctx = _task_context(task)
    own = Candidates(
        user=task.candidate_user, role=task.candidate_role, org_unit=task.candidate_org_unit
    )
    who = Q(pk__in=[])
    for c in (own, stand_in(task.lane, ctx)):
        if c is None:
            continue
        if c.user is not None:
            who |= Q(pk=c.user.pk)
        elif c.role and c.org_unit is not None:
            holders = RoleAssignment.objects.filter(role=c.role, org_unit=c.org_unit)
            who |= Q(pk__in=holders.values("user_id"))
    users = get_user_model().objects.filter(who, is_active=True)
    if judges_subject(task.lane) and ctx.subject is not None and ctx.subject.user_id is not None:
        users = users.exclude(pk=ctx.subject.user_id)
    if task.is_not_by_initiator and ctx.started_by is not None:
        users = users.exclude(pk=ctx.started_by.pk)
    return users


def may_start(user: AbstractBaseUser, *, start_lane: str, subject: Employee) -> bool:
    """May `user` start a process about `subject`? The start event's lane says who starts:
    the employee themself (Employee, Initiator or no lane), their supervisor, HR of their
    clinic, or group HR."""
    key = lane_key(start_lane)
    if key in ("employee", "initiator"):
        return subject.user_id == user.pk
    if key == "supervisor":
        is_manager = subject.manager is not None and subject.manager.user_id == user.pk
        return is_manager or holds_role_over(user, Role.SUPERVISOR, subject.org_unit)
    if key == "clinic_hr":
        return holds_role_over(user, Role.CLINIC_HR, subject.org_unit)
    if key == "group_hr":
        return holds_role_over(user, Role.GROUP_HR, subject.org_unit)
    return False


def may_migrate(user: AbstractBaseUser, *, unit: OrgUnit | None) -> bool:
    """May `user` move an instance in `unit` to another version? An operator action scoped to
    the instance: group HR, or HR of the instance's clinic (a process owner draws versions but
    does not move colleagues' requests onto them). An instance in no unit is group HR's."""
    if user.is_superuser:
        return True
    if unit is None:
        return has_role(user, Role.GROUP_HR)
    return holds_role_over(user, Role.GROUP_HR, unit) or holds_role_over(user, Role.CLINIC_HR, unit)


_START_ROLES = {
    "supervisor": Role.SUPERVISOR,
    "clinic_hr": Role.CLINIC_HR,
    "group_hr": Role.GROUP_HR,
}


def startable_subjects(user: AbstractBaseUser, *, start_lane: str) -> QuerySet[Employee]:
    """The active employees `user` may start a process with this start lane about: the same
    rule as `may_start`, as one query (for the start pages' choice of employee)."""
    employees = Employee.objects.filter(is_active=True).select_related("org_unit")
    key = lane_key(start_lane)
    if key in ("employee", "initiator"):
        return employees.filter(user=user)
    role = _START_ROLES.get(key or "")
    if role is None:
        return employees.none()
    paths = OrgUnit.objects.filter(
        role_assignments__user=user, role_assignments__role=role
    ).values_list("path", flat=True)
    in_scope = Q(pk__in=[])
    for path in paths:
        in_scope |= Q(org_unit__path__startswith=path)
    if key == "supervisor":
        in_scope |= Q(manager__user=user)
    return employees.filter(in_scope).order_by("org_unit__path", "employee_no")
