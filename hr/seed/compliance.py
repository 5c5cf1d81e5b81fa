"""Catalogue data of compliance signals 合规信号: the mandatory course of each policy clause
(named by the compliance_deduction_rule DMN)."""

from django.db import transaction

from hr.models import TrainingCourse

# (code, name): one course per clause of the compliance_signal_clause table.
CLAUSE_COURSES: list[tuple[str, str]] = [
    ("compliance-attendance", "Attendance rules 考勤制度强制培训"),
    ("compliance-service-conduct", "Patient service conduct 服务规范强制培训"),
    ("compliance-professional-conduct", "Professional conduct 职业行为规范强制培训"),
]


@transaction.atomic
def seed() -> None:
    """Create the clause courses (idempotent)."""
    for code, name in CLAUSE_COURSES:
        TrainingCourse.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": TrainingCourse.Category.COMPLIANCE,
                "is_mandatory": True,
                "role_family": "",
            },
        )
