"""The demo healthcare group that `make run` loads: one group, two clinics, a few people."""

from django.contrib.auth import get_user_model
from django.db import transaction

from hr.models import Employee, OrgUnit, RoleAssignment
from hr.seed import seed_all

DEMO_PASSWORD = "careflow-demo"  # noqa: S105 - documented demo credential, laptop only

Role = RoleAssignment.Role

UNITS = [
    # code, name, kind, parent code
    ("kangning", "Kangning Healthcare Group 康宁医疗集团", OrgUnit.Kind.GROUP, None),
    ("east", "East Clinic 东城门诊", OrgUnit.Kind.CLINIC, "kangning"),
    ("east-nursing", "East Nursing 东城护理部", OrgUnit.Kind.DEPARTMENT, "east"),
    ("east-internal", "East Internal Medicine 东城内科", OrgUnit.Kind.DEPARTMENT, "east"),
    ("west", "West Clinic 西城门诊", OrgUnit.Kind.CLINIC, "kangning"),
    ("west-nursing", "West Nursing 西城护理部", OrgUnit.Kind.DEPARTMENT, "west"),
]

PEOPLE = [
    # username, employee no, name, unit, position, role family, manager username, extra roles
    (
        "hr_group",
        "K0001",
        "周敏 Zhou Min",
        "kangning",
        "Group HR manager",
        "admin",
        None,
        [(Role.GROUP_HR, "kangning")],
    ),
    (
        "owner",
        "K0002",
        "陈静 Chen Jing",
        "kangning",
        "Process owner",
        "admin",
        None,
        [(Role.PROCESS_OWNER, "kangning")],
    ),
    (
        "auditor",
        "K0003",
        "孙磊 Sun Lei",
        "kangning",
        "Internal auditor",
        "admin",
        None,
        [(Role.AUDITOR, "kangning")],
    ),
    (
        "east_hr",
        "E0001",
        "王芳 Wang Fang",
        "east",
        "Clinic HR",
        "admin",
        None,
        [(Role.CLINIC_HR, "east")],
    ),
    (
        "east_head_nurse",
        "E0002",
        "李娜 Li Na",
        "east-nursing",
        "Head nurse 护士长",
        "nurse",
        None,
        [(Role.SUPERVISOR, "east-nursing")],
    ),
    (
        "east_nurse",
        "E0003",
        "张丽 Zhang Li",
        "east-nursing",
        "Nurse 护士",
        "nurse",
        "east_head_nurse",
        [],
    ),
    (
        "east_internal_head",
        "E0005",
        "郑伟 Zheng Wei",
        "east-internal",
        "Department head 科室主任",
        "doctor",
        None,
        [(Role.SUPERVISOR, "east-internal")],
    ),
    (
        "east_doctor",
        "E0004",
        "刘洋 Liu Yang",
        "east-internal",
        "Resident 住院医师",
        "doctor",
        "east_internal_head",
        [],
    ),
    (
        "west_hr",
        "W0001",
        "赵强 Zhao Qiang",
        "west",
        "Clinic HR",
        "admin",
        None,
        [(Role.CLINIC_HR, "west")],
    ),
    (
        "west_head_nurse",
        "W0002",
        "黄婷 Huang Ting",
        "west-nursing",
        "Head nurse 护士长",
        "nurse",
        None,
        [(Role.SUPERVISOR, "west-nursing")],
    ),
    (
        "west_nurse",
        "W0003",
        "吴杰 Wu Jie",
        "west-nursing",
        "Nurse 护士",
        "nurse",
        "west_head_nurse",
        [],
    ),
]


@transaction.atomic
def demo_seed() -> dict[str, int]:
    """Create (or leave as they are) the demo org units, users and employees."""
    units: dict[str, OrgUnit] = {}
    for code, name, kind, parent in UNITS:
        unit, _ = OrgUnit.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "parent": units.get(parent)}
        )
        units[code] = unit
    user_model = get_user_model()
    employees: dict[str, Employee] = {}
    for username, number, name, unit, position, family, manager, roles in PEOPLE:
        user, created = user_model.objects.get_or_create(username=username)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        employee, _ = Employee.objects.get_or_create(
            employee_no=number,
            defaults={
                "user": user,
                "name": name,
                "org_unit": units[unit],
                "position": position,
                "role_family": family,
                "manager": employees.get(manager) if manager else None,
            },
        )
        employees[username] = employee
        for role, role_unit in [(Role.EMPLOYEE, unit), *roles]:
            RoleAssignment.objects.get_or_create(user=user, role=role, org_unit=units[role_unit])
    # A system account, as the appraisal or attendance system would use with a token.
    integration, _ = user_model.objects.get_or_create(username="appraisal_system")
    RoleAssignment.objects.get_or_create(
        user=integration, role=Role.INTEGRATION, org_unit=units["kangning"]
    )
    admin, created = user_model.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        admin.set_password(DEMO_PASSWORD)
        admin.save(update_fields=["password"])
    seed_all()
    return {"org_units": len(units), "employees": len(employees)}
