"""Catalogue data of performance appraisal 绩效考核: the weighted indicators 考核指标/权重 per
role family and the mandatory remedial courses 强制培训."""

from django.db import transaction

from hr.models import AppraisalIndicator, Employee, TrainingCourse

Family = Employee.RoleFamily

# role family -> (indicator code, name, weight %); the weights of a family add up to 100.
INDICATORS: dict[str, list[tuple[str, str, int]]] = {
    Family.ADMIN: [
        ("discipline", "Discipline 工作纪律", 20),
        ("teamwork", "Teamwork 团队协作", 30),
        ("efficiency", "Efficiency 工作效率", 50),
    ],
    Family.NURSE: [
        ("service_attitude", "Service attitude 服务态度", 30),
        ("nursing_quality", "Nursing quality 护理质量", 40),
        ("discipline", "Discipline 工作纪律", 30),
    ],
}

# Mandatory remedial courses (code, name, role family; "" for every family).
REMEDIAL_COURSES: list[tuple[str, str, str]] = [
    ("remedial-performance", "Performance improvement training 绩效改进强制培训", ""),
    (
        "remedial-nursing-quality",
        "Nursing quality remedial training 护理质量强制培训",
        Family.NURSE,
    ),
    # Chosen by bpmn/performance_remedial_course.dmn (role family, weakest indicator).
    ("remedial-work-discipline", "Work discipline special training 工作纪律专项培训", ""),
    (
        "remedial-service-attitude",
        "Service attitude remedial training 服务态度强制培训",
        Family.NURSE,
    ),
]


@transaction.atomic
def seed() -> None:
    """Create the appraisal indicators and remedial courses (idempotent)."""
    for family, indicators in INDICATORS.items():
        for code, name, weight in indicators:
            AppraisalIndicator.objects.get_or_create(
                role_family=family, code=code, defaults={"name": name, "weight_percent": weight}
            )
    for code, name, family in REMEDIAL_COURSES:
        TrainingCourse.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": TrainingCourse.Category.REMEDIAL,
                "is_mandatory": True,
                "role_family": family,
            },
        )
