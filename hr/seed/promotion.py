"""Catalogue and demo data of the promotion process: the ladders 晋升阶梯 and the courses
the promotion requirements name or recommend."""

from django.db import transaction

from hr.models import Employee, LadderLevel, TrainingCourse

Family = Employee.RoleFamily
Category = TrainingCourse.Category

# role family -> rungs from the entry level up: (code, name). The rank is the position.
LADDERS: dict[str, list[tuple[str, str]]] = {
    Family.NURSE: [
        ("junior-nurse", "Junior nurse 初级护士"),
        ("nurse", "Nurse 护师"),
        ("senior-nurse", "Senior nurse 主管护师"),
        ("charge-nurse", "Charge nurse 主管护士"),
    ],
    Family.DOCTOR: [
        ("resident", "Resident 住院医师"),
        ("attending", "Attending physician 主治医师"),
        ("associate-chief", "Associate chief physician 副主任医师"),
        ("chief", "Chief physician 主任医师"),
    ],
}

# Courses the `promotion_requirements` table requires (specialty training) or that
# hr.services.promotion recommends for a gap: (code, name, role family).
COURSES: list[tuple[str, str, str]] = [
    ("specialty-nursing", "Specialty nursing training 专科护理培训", Family.NURSE),
    ("quality-nursing-service", "Quality nursing service 优质护理服务", Family.NURSE),
    ("clinical-communication", "Clinical communication 医患沟通技巧", ""),
    ("clinical-research-methods", "Clinical research methods 临床科研方法", Family.DOCTOR),
    ("academic-writing", "Academic paper writing 学术论文写作", Family.DOCTOR),
    ("academic-presentation", "Academic presentation 学术分享与演讲", Family.DOCTOR),
    ("complex-case-management", "Complex case management 疑难病例诊治", Family.DOCTOR),
]

# Demo people (hr/demo.py) and the rung they hold, set only while they hold none.
DEMO_LEVELS = {
    "E0002": "charge-nurse",  # east head nurse
    "E0003": "nurse",  # east nurse
    "E0004": "resident",  # east doctor
    "W0002": "charge-nurse",  # west head nurse
    "W0003": "junior-nurse",  # west nurse
}


@transaction.atomic
def seed() -> None:
    """Create the ladders and promotion courses, and place the demo people (idempotent)."""
    for family, rungs in LADDERS.items():
        for rank, (code, name) in enumerate(rungs, start=1):
            LadderLevel.objects.get_or_create(
                code=code, defaults={"role_family": family, "name": name, "rank": rank}
            )
    for code, name, family in COURSES:
        TrainingCourse.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": Category.SPECIALTY,
                "is_mandatory": False,
                "role_family": family,
            },
        )
    levels = {level.code: level for level in LadderLevel.objects.all()}
    for number, code in DEMO_LEVELS.items():
        Employee.objects.filter(employee_no=number, ladder_level__isnull=True).update(
            ladder_level=levels[code]
        )
