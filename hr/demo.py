"""The demo healthcare group that `make run` loads: one group, two clinics, a few people."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from hr.models import (
    Employee,
    FeedbackTicket,
    OrgUnit,
    RoleAssignment,
    TrainingCompletion,
    TrainingCourse,
)
from hr.seed import seed_all
from hr.services.feedback import receipt_code_new

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


# Feedback (心声直达) closed in the past year, so that the feedback chart has participation and
# an unresolved share to show. Submitter employee no (None: anonymous), clinic code (None: the
# group as a whole), category, department code, days before the demo was loaded, hours from
# submission to closing, resolved, text.
FEEDBACK_HISTORY = [
    (
        "E0003",
        "east",
        "workload",
        "east-nursing",
        300,
        52,
        True,
        "连续三个夜班，希望调整排班。Three night shifts in a row: please rethink the rota.",
    ),
    (
        "E0201",
        "east",
        "career_growth",
        "east-nursing",
        240,
        96,
        True,
        "想参加专科护士培训，不知道如何申请。I would like to train as a specialist nurse; how "
        "do I apply?",
    ),
    (
        "E0004",
        "east",
        "benefits",
        "east-internal",
        150,
        30,
        True,
        "体检福利的预约方式不清楚。How to book the health check benefit is unclear.",
    ),
    (
        None,
        "east",
        "management",
        "east-internal",
        90,
        140,
        False,
        "科室例会经常拖到下班以后。Department meetings often run past the end of the shift.",
    ),
    (
        "E0206",
        "east",
        "workload",
        "east-nursing",
        60,
        20,
        True,
        "病房呼叫铃维修太慢。Broken call bells on the ward take too long to repair.",
    ),
    (
        "W0003",
        "west",
        "culture",
        "west-nursing",
        200,
        48,
        True,
        "希望新同事有带教老师。New colleagues should each have a mentor.",
    ),
    (
        "W0201",
        "west",
        "workload",
        "west-nursing",
        75,
        160,
        False,
        "周末人手不足。The weekend shifts are short of staff.",
    ),
    (
        None,
        "west",
        "benefits",
        "west",
        20,
        26,
        True,
        "餐补标准多年未调整。The meal allowance has not changed in years.",
    ),
    (
        "K0002",
        None,
        "other",
        "kangning",
        110,
        72,
        True,
        "各门店的请假规定不一致。Leave rules differ from clinic to clinic.",
    ),
]


def _seed_feedback_history(units: dict[str, OrgUnit]) -> None:
    now = timezone.now()
    staff = {
        e.employee_no: e
        for e in Employee.objects.filter(employee_no__in={row[0] for row in FEEDBACK_HISTORY})
    }
    for number, clinic, category, department, days_ago, hours, resolved, text in FEEDBACK_HISTORY:
        if FeedbackTicket.objects.filter(text=text).exists():
            continue
        submitted_at = now - dt.timedelta(days=days_ago)
        ticket = FeedbackTicket.objects.create(
            receipt_code=receipt_code_new(),
            is_anonymous=number is None,
            submitter=staff.get(number) if number else None,
            clinic=units[clinic] if clinic else None,
            text=text,
            category=category,
            department=units[department],
            status=FeedbackTicket.Status.RESOLVED
            if resolved
            else FeedbackTicket.Status.NOT_RESOLVED,
            resolution="已跟进处理。Followed up and put right."
            if resolved
            else "需集团统一调整。Needs a decision at group level.",
            follow_up_plan="" if resolved else "下季度复查。To be reviewed next quarter.",
            acknowledged_at=submitted_at + dt.timedelta(hours=4),
            closed_at=submitted_at + dt.timedelta(hours=hours),
        )
        # created_at is set on insert (auto_now_add); history needs the day it was sent.
        FeedbackTicket.objects.filter(pk=ticket.pk).update(created_at=submitted_at)


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
    _seed_feedback_history(units)
    return {"org_units": len(units), "employees": len(employees), "staff": Employee.objects.count()}
