"""Lanes name roles relative to the instance; they resolve to a user or a (role, org unit)."""

import pytest

from hr.models import RoleAssignment
from tests.factories import EmployeeFactory, RoleAssignmentFactory
from workflows.assignment import (
    Candidates,
    InstanceContext,
    LaneUnresolvable,
    lane_key,
    may_work,
    resolve,
)

Role = RoleAssignment.Role


def context(subject=None, *, org_unit=None, started_by=None, data=None) -> InstanceContext:
    return InstanceContext(
        subject=subject, org_unit=org_unit, started_by=started_by, data=data or {}
    )


# --- lane names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lane", "key"),
    [
        ("Employee", "employee"),
        ("Employee (员工)", "employee"),
        ("员工", "employee"),
        ("Supervisor (护士长/科室主任)", "supervisor"),
        ("Supervisor(护士长)", "supervisor"),
        ("护士长/科室主任", "supervisor"),
        ("Manager", "supervisor"),
        ("Clinic HR（门店人力资源部）", "clinic_hr"),
        ("Clinic HR (门店人力资源部)", "clinic_hr"),
        ("CLINIC HR", "clinic_hr"),
        ("门店人力资源部", "clinic_hr"),
        ("Group HR (集团人力资源部)", "group_hr"),
        ("集团人力资源部", "group_hr"),
        ("Department (科室)", "department"),
        ("Responsible department", "department"),
        ("Initiator (发起人)", "initiator"),
        ("  Employee (员工)  ", "employee"),
        ("", "initiator"),
    ],
)
def test_lane_names_in_english_or_chinese_map_to_a_resolver(lane, key):
    assert lane_key(lane) == key


@pytest.mark.parametrize("lane", ["Janitor", "Janitor (员工)", "清洁工", "HR"])
def test_unknown_lane_names_map_to_nothing(lane):
    assert lane_key(lane) is None


# --- resolving lanes ------------------------------------------------------------------------


def test_employee_lane_is_the_subjects_user(org):
    candidates = resolve("Employee (员工)", context(org.nurse))

    assert candidates == Candidates(user=org.nurse.user)


def test_supervisor_lane_is_the_subjects_manager(org):
    candidates = resolve("Supervisor (护士长/科室主任)", context(org.nurse))

    assert candidates == Candidates(user=org.head_nurse.user)


def test_supervisor_lane_without_a_manager_is_the_supervisor_role_of_the_subjects_unit(org):
    newcomer = EmployeeFactory(org_unit=org.east_nursing)  # no manager on record yet

    candidates = resolve("Supervisor (护士长/科室主任)", context(newcomer))

    assert candidates == Candidates(role=Role.SUPERVISOR, org_unit=org.east_nursing)


def test_supervisor_lane_goes_one_level_up_when_the_subject_is_the_units_only_supervisor(org):
    # (tests/security/test_trust_lane_one_level_up.py drives this through the API)
    candidates = resolve("Supervisor (护士长/科室主任)", context(org.head_nurse))

    assert (candidates.user, candidates.role, candidates.org_unit) == (
        None,
        Role.CLINIC_HR,
        org.east,
    )


def test_supervisor_lane_prefers_the_instance_org_unit_over_the_subjects(org):
    candidates = resolve("Supervisor", context(org.west_hr, org_unit=org.west_nursing))

    assert candidates == Candidates(role=Role.SUPERVISOR, org_unit=org.west_nursing)


def test_clinic_hr_lane_is_hr_of_the_clinic_above_the_subjects_department(org):
    candidates = resolve("Clinic HR（门店人力资源部）", context(org.nurse))

    assert candidates == Candidates(role=Role.CLINIC_HR, org_unit=org.east)


def test_clinic_hr_lane_for_someone_working_at_the_clinic_itself(org):
    receptionist = EmployeeFactory(org_unit=org.west)

    candidates = resolve("Clinic HR", context(receptionist))

    assert candidates == Candidates(role=Role.CLINIC_HR, org_unit=org.west)


def test_clinic_hr_lane_about_the_clinics_only_hr_goes_to_group_hr(org):
    candidates = resolve("Clinic HR", context(org.west_hr))

    assert (candidates.user, candidates.role, candidates.org_unit) == (
        None,
        Role.GROUP_HR,
        org.group,
    )


def test_group_hr_lane_is_hr_of_the_group(org):
    candidates = resolve("Group HR (集团人力资源部)", context(org.west_nurse))

    assert candidates == Candidates(role=Role.GROUP_HR, org_unit=org.group)


def test_department_lane_is_the_supervisor_of_the_unit_named_in_the_data(org):
    ctx = context(org.nurse, data={"department": "east-nursing"})

    candidates = resolve("Department (科室)", ctx)

    assert candidates == Candidates(role=Role.SUPERVISOR, org_unit=org.east_nursing)


def test_department_lane_from_data_stays_in_the_subjects_clinic(org):
    ctx = context(org.nurse, data={"department": "west-nursing"})

    with pytest.raises(LaneUnresolvable) as refused:
        resolve("Department (科室)", ctx)

    assert str(refused.value) == (
        "department 'west-nursing' from the process data is in west, outside this instance's "
        "clinic (east)"
    )


def test_department_lane_may_name_a_unit_of_the_group_itself(org):
    ctx = context(org.nurse, data={"department": "hq"})

    candidates = resolve("Department (科室)", ctx)

    # no head at the group unit: its group HR role holders take the work (issue 21)
    assert candidates == Candidates(role=Role.GROUP_HR, org_unit=org.group)


def test_department_lane_of_a_group_unit_with_a_head_offers_it_to_the_head(org):
    RoleAssignmentFactory(role=Role.SUPERVISOR, org_unit=org.group)
    ctx = context(org.nurse, data={"department": "hq"})

    candidates = resolve("Department (科室)", ctx)

    assert candidates == Candidates(role=Role.SUPERVISOR, org_unit=org.group)


def test_a_group_level_subjects_department_lane_stays_at_group_level(org):
    ctx = context(org.group_hr, org_unit=org.group, data={"department": "east-nursing"})

    with pytest.raises(LaneUnresolvable) as refused:
        resolve("Department (科室)", ctx)

    assert str(refused.value) == (
        "department 'east-nursing' from the process data is in east, outside this group-level "
        "instance's reach (the group's own units)"
    )


def test_a_group_wide_instance_without_subject_reaches_every_clinic(org):
    ctx = context(None, org_unit=org.group, data={"department": "west-nursing"})

    candidates = resolve("Department (科室)", ctx)

    assert candidates == Candidates(role=Role.SUPERVISOR, org_unit=org.west_nursing)


def test_initiator_lane_is_who_started_the_instance(org):
    candidates = resolve("Initiator", context(org.nurse, started_by=org.east_hr.user))

    assert candidates == Candidates(user=org.east_hr.user)


def test_a_task_without_a_lane_goes_to_the_initiator(org):
    candidates = resolve("", context(org.nurse, started_by=org.east_hr.user))

    assert candidates == Candidates(user=org.east_hr.user)


def test_employee_lane_for_a_subject_without_a_user_is_unresolvable(org):
    subject = EmployeeFactory(user=None, employee_no="E90001", org_unit=org.east_nursing)

    with pytest.raises(LaneUnresolvable, match="employee E90001 has no user account"):
        resolve("Employee", context(subject))


def test_employee_lane_without_a_subject_is_unresolvable(org):
    with pytest.raises(LaneUnresolvable, match="the Employee lane needs an instance subject"):
        resolve("Employee", context(None, started_by=org.nurse.user))


def test_supervisor_lane_whose_manager_has_no_user_is_unresolvable(org):
    manager = EmployeeFactory(user=None, org_unit=org.west_nursing)
    subject = EmployeeFactory(org_unit=org.west_nursing, manager=manager)

    with pytest.raises(LaneUnresolvable, match="the subject's manager has no user account"):
        resolve("Supervisor", context(subject))


def test_clinic_hr_lane_outside_any_clinic_is_unresolvable(org):
    with pytest.raises(LaneUnresolvable, match="the Clinic HR lane needs an instance inside"):
        resolve("Clinic HR", context(org.group_hr))


def test_department_lane_without_a_department_in_the_data_is_unresolvable(org):
    with pytest.raises(LaneUnresolvable, match="needs a 'department'"):
        resolve("Department", context(org.nurse, data={}))


def test_department_lane_naming_an_unknown_unit_is_unresolvable(org):
    ctx = context(org.nurse, data={"department": "no-such-unit"})

    with pytest.raises(LaneUnresolvable, match="no org unit with code 'no-such-unit'"):
        resolve("Department", ctx)


def test_initiator_lane_without_a_starter_is_unresolvable(org):
    with pytest.raises(LaneUnresolvable, match="the instance has no initiator"):
        resolve("Initiator", context(org.nurse, started_by=None))


def test_an_unknown_lane_is_unresolvable(org):
    with pytest.raises(LaneUnresolvable, match="no resolver for lane 'Janitor'"):
        resolve("Janitor", context(org.nurse))


# --- who may work a task --------------------------------------------------------------------


def test_the_named_user_may_work_the_task(org):
    allowed = may_work(
        org.nurse.user, candidate_user_id=org.nurse.user.pk, role="", org_unit_id=None
    )

    assert allowed is True


def test_someone_else_may_not_work_a_task_for_a_named_user(org):
    allowed = may_work(
        org.head_nurse.user, candidate_user_id=org.nurse.user.pk, role="", org_unit_id=None
    )

    assert allowed is False


def test_a_named_user_excludes_role_holders(org):
    allowed = may_work(
        org.head_nurse.user,
        candidate_user_id=org.nurse.user.pk,
        role=Role.SUPERVISOR,
        org_unit_id=org.east_nursing.pk,
    )

    assert allowed is False


def test_a_role_holder_in_the_tasks_unit_may_work_it(org):
    allowed = may_work(
        org.east_hr.user, candidate_user_id=None, role=Role.CLINIC_HR, org_unit_id=org.east.pk
    )

    assert allowed is True


def test_a_role_holder_of_another_clinic_may_not_work_it(org):
    allowed = may_work(
        org.west_hr.user, candidate_user_id=None, role=Role.CLINIC_HR, org_unit_id=org.east.pk
    )

    assert allowed is False


def test_a_holder_of_another_role_in_the_unit_may_not_work_it(org):
    allowed = may_work(
        org.head_nurse.user,
        candidate_user_id=None,
        role=Role.CLINIC_HR,
        org_unit_id=org.east_nursing.pk,
    )

    assert allowed is False


def test_nobody_may_work_a_task_without_candidates(org):
    allowed = may_work(org.group_hr.user, candidate_user_id=None, role="", org_unit_id=None)

    assert allowed is False


def test_clinic_hr_candidates_of_a_west_nurse_admit_west_hr_only(org):
    candidates = resolve("Clinic HR", context(org.west_nurse))
    task = {
        "candidate_user_id": None,
        "role": candidates.role,
        "org_unit_id": candidates.org_unit.pk,
    }

    assert may_work(org.west_hr.user, **task) is True
    assert may_work(org.east_hr.user, **task) is False
    assert may_work(org.group_hr.user, **task) is False
