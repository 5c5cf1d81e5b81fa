"""The demo healthcare group that `make run` loads: one group, two clinics, a few people."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hr.models import Employee, OrgUnit, RoleAssignment, TrainingCompletion, TrainingCourse
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


# Colleagues without a sign-in, and former staff, so that the dashboards have a year of
# history to show (hires, leavers, training). Dates are days before the day the demo is
# loaded; None = still employed.
# employee no, name, unit, position, role family, manager username, hired, last working day
STAFF_HISTORY = [
    (
        "E0201",
        "钱晨 Qian Chen",
        "east-nursing",
        "Nurse 护士",
        "nurse",
        "east_head_nurse",
        900,
        None,
    ),
    ("E0202", "孙悦 Sun Yue", "east-nursing", "Nurse 护士", "nurse", "east_head_nurse", 420, None),
    (
        "E0203",
        "周航 Zhou Hang",
        "east-internal",
        "Laboratory technician 检验技师",
        "technician",
        "east_internal_head",
        1500,
        None,
    ),
    (
        "E0204",
        "吴敏 Wu Min",
        "east-internal",
        "Resident 住院医师",
        "doctor",
        "east_internal_head",
        200,
        None,
    ),
    ("E0205", "冯磊 Feng Lei", "east-nursing", "Nurse 护士", "nurse", "east_head_nurse", 700, 120),
    ("E0206", "陈露 Chen Lu", "east-nursing", "Nurse 护士", "nurse", "east_head_nurse", 300, 45),
    (
        "E0207",
        "何平 He Ping",
        "east-internal",
        "Attending physician 主治医师",
        "doctor",
        "east_internal_head",
        2000,
        250,
    ),
    ("W0201", "林佳 Lin Jia", "west-nursing", "Nurse 护士", "nurse", "west_head_nurse", 600, None),
    ("W0202", "郭涛 Guo Tao", "west", "Pharmacist 药师", "technician", None, 1100, None),
    ("W0203", "马丽 Ma Li", "west-nursing", "Nurse 护士", "nurse", "west_head_nurse", 800, 200),
    ("W0204", "罗强 Luo Qiang", "west", "Receptionist 导诊", "admin", None, 1095, 20),
    ("K0201", "高远 Gao Yuan", "kangning", "HR specialist 人事专员", "admin", None, 1200, 300),
]

# Training they completed: employee no, course code, days before the demo was loaded.
TRAINING_HISTORY = [
    ("E0201", "prejob-infection-control", 60),
    ("E0202", "prejob-patient-privacy", 100),
    ("E0204", "prejob-medical-law", 195),
    ("E0204", "prejob-hospital-rules", 194),
    ("E0204", "prejob-infection-control", 193),
    ("E0204", "prejob-patient-privacy", 193),
    ("E0206", "prejob-nurse-regulations", 296),
    ("W0201", "prejob-infection-control", 30),
]


def _seed_staff_history(units: dict[str, OrgUnit], employees: dict[str, Employee]) -> None:
    today = timezone.localdate()
    for number, name, unit, position, family, manager, hired, left in STAFF_HISTORY:
        Employee.objects.get_or_create(
            employee_no=number,
            defaults={
                "name": name,
                "org_unit": units[unit],
                "position": position,
                "role_family": family,
                "manager": employees.get(manager) if manager else None,
                "hire_date": today - dt.timedelta(days=hired),
                "last_working_date": None if left is None else today - dt.timedelta(days=left),
                "is_active": left is None,
            },
        )


def _seed_training_history() -> None:
    now = timezone.now()
    courses = {c.code: c for c in TrainingCourse.objects.all()}
    staff = {
        e.employee_no: e
        for e in Employee.objects.filter(employee_no__in={row[0] for row in TRAINING_HISTORY})
    }
    for number, code, days_ago in TRAINING_HISTORY:
        if number in staff and code in courses:
            TrainingCompletion.objects.get_or_create(
                employee=staff[number],
                course=courses[code],
                defaults={"completed_at": now - dt.timedelta(days=days_ago)},
            )


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
    _seed_staff_history(units, employees)
    seed_all()
    _seed_training_history()
    return {"org_units": len(units), "employees": len(employees), "staff": Employee.objects.count()}
