"""Catalogue data of the onboarding process: the pre-job training courses (岗前培训).

Which of them a new hire takes is decided per role family by the DMN table
bpmn/onboarding_pre_job_checklist.dmn; its course codes must exist here.
"""

from hr.models import TrainingCourse

Category = TrainingCourse.Category

COURSES = [
    # code, name, category, is mandatory, role family ("" = every role family)
    (
        "prejob-medical-law",
        "Medical laws and regulations 医疗卫生法律法规",
        Category.MEDICAL_REGULATIONS,
        True,
        "",
    ),
    (
        "prejob-hospital-rules",
        "Hospital rules and code of conduct 医院规章制度与行为规范",
        Category.HOSPITAL_RULES,
        True,
        "",
    ),
    (
        "prejob-infection-control",
        "Infection prevention and control 医院感染防控",
        Category.HOSPITAL_RULES,
        True,
        "",
    ),
    (
        "prejob-patient-privacy",
        "Patient privacy and information security 患者隐私与信息安全",
        Category.HOSPITAL_RULES,
        True,
        "",
    ),
    (
        "prejob-group-culture",
        "Group culture and history 集团文化与发展历程",
        Category.HOSPITAL_RULES,
        False,
        "",
    ),
    (
        "prejob-nurse-regulations",
        "Nurse regulations 护士条例",
        Category.MEDICAL_REGULATIONS,
        True,
        "nurse",
    ),
    (
        "prejob-nurse-duties",
        "Duties of the nurse position 护士岗位职责",
        Category.POSITION_DUTIES,
        True,
        "nurse",
    ),
    (
        "prejob-medical-core-systems",
        "Core systems of medical quality and safety 医疗质量安全核心制度",
        Category.MEDICAL_REGULATIONS,
        True,
        "doctor",
    ),
    (
        "prejob-medical-records",
        "Standards of medical record writing 病历书写基本规范",
        Category.MEDICAL_REGULATIONS,
        True,
        "doctor",
    ),
    (
        "prejob-doctor-duties",
        "Duties of the physician position 医师岗位职责",
        Category.POSITION_DUTIES,
        True,
        "doctor",
    ),
    (
        "prejob-radiation-safety",
        "Radiation protection 放射防护",
        Category.MEDICAL_REGULATIONS,
        True,
        "technician",
    ),
    (
        "prejob-technician-duties",
        "Duties of the technician position 技师岗位职责",
        Category.POSITION_DUTIES,
        True,
        "technician",
    ),
    (
        "prejob-admin-duties",
        "Duties of the administrative position 行政岗位职责",
        Category.POSITION_DUTIES,
        True,
        "admin",
    ),
    (
        "prejob-general-duties",
        "Duties of the position 岗位职责（通用）",
        Category.POSITION_DUTIES,
        True,
        "other",
    ),
]


def seed() -> None:
    """Create the pre-job training courses (idempotent; edited rows are left as they are)."""
    for code, name, category, is_mandatory, role_family in COURSES:
        TrainingCourse.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "is_mandatory": is_mandatory,
                "role_family": role_family,
            },
        )
