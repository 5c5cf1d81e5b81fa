"""Catalogue and demo data of the benefits centre (福利权益中心).

The benefit types the claim process offers, and each active employee's entitlements for
the current year: statutory annual leave by years of service, one health check, and the
yearly budgets of the child education subsidy and (for clinical staff) the academic
exchange fund. Hardship subsidy and flexible working have no budget: their reviewers decide.
Existing rows are left as they are, so spent balances survive a re-seed.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from hr.models import BenefitEntitlement, BenefitType, Employee, FamilyMember
from hr.services.benefits import annual_leave_days, years_of_service

Category = BenefitType.Category
Unit = BenefitType.Unit
Family = Employee.RoleFamily

BENEFIT_TYPES = [
    # code, name, category, unit, description
    (
        "annual_leave",
        "Annual leave 年假",
        Category.STATUTORY,
        Unit.DAYS,
        "Statutory paid annual leave, in days, debited from the year's balance. "
        "法定带薪年休假，按天从当年余额中扣减。",
    ),
    (
        "health_check",
        "Health check 体检套餐",
        Category.COMPANY,
        Unit.BOOKING,
        "One health check package a year, booked for the date you choose. "
        "每年一次体检套餐，按所选日期预约。",
    ),
    (
        "child_education_subsidy",
        "Child education subsidy 子女教育补贴",
        Category.COMPANY,
        Unit.AMOUNT,
        "Tuition and school costs of a child on file, up to the yearly budget; "
        "attach the receipts. 已登记子女的学费等费用，年度额度内报销，需附票据。",
    ),
    (
        "academic_exchange_fund",
        "Academic exchange fund 学术交流经费",
        Category.COMPANY,
        Unit.AMOUNT,
        "Conferences, courses and exchanges of clinical staff, up to the yearly budget; "
        "attach the invitation or registration. "
        "临床人员参加学术会议、进修交流，年度额度内，需附邀请函或报名证明。",
    ),
    (
        "hardship_subsidy",
        "Hardship subsidy 困难员工补助",
        Category.SPECIAL_CARE,
        Unit.AMOUNT,
        "Support for employees in financial hardship; larger amounts also go to group HR. "
        "困难员工补助；金额较大时由集团人力资源部审批。",
    ),
    (
        "flexible_working",
        "Flexible working 弹性工作制",
        Category.SPECIAL_CARE,
        Unit.ARRANGEMENT,
        "Flexible working hours for a period, agreed with your supervisor and clinic HR. "
        "一段时间内的弹性工作安排，需主管和门店人力资源部同意。",
    ),
]

# Yearly entitlements besides annual leave (code -> (balance, role families or None = all)).
HEALTH_CHECKS_A_YEAR = Decimal("1")
CHILD_EDUCATION_BUDGET = Decimal("6000.00")
ACADEMIC_EXCHANGE_BUDGET = Decimal("10000.00")
CLINICAL_FAMILIES = {Family.DOCTOR, Family.NURSE, Family.TECHNICIAN}
# Demo employees have no hire date on file: they get the first statutory step.
DEFAULT_ANNUAL_LEAVE_DAYS = 5

# A child on file for the demo nurse, so the child education subsidy can be tried out.
DEMO_CHILDREN = [("E0003", "张小雨 Zhang Xiaoyu")]


def _annual_leave(employee: Employee) -> Decimal:
    years = years_of_service(employee=employee, on_date=timezone.localdate())
    if years is None:
        return Decimal(DEFAULT_ANNUAL_LEAVE_DAYS)
    return Decimal(annual_leave_days(years_of_service=years))


def _entitlements(employee: Employee) -> dict[str, Decimal]:
    wanted = {
        "annual_leave": _annual_leave(employee),
        "health_check": HEALTH_CHECKS_A_YEAR,
        "child_education_subsidy": CHILD_EDUCATION_BUDGET,
    }
    if employee.role_family in CLINICAL_FAMILIES:
        wanted["academic_exchange_fund"] = ACADEMIC_EXCHANGE_BUDGET
    return wanted


@transaction.atomic
def seed() -> None:
    """Create the benefit catalogue and this year's entitlements (idempotent)."""
    types = {}
    for code, name, category, unit, description in BENEFIT_TYPES:
        types[code], _ = BenefitType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "category": category,
                "unit": unit,
                "description": description,
            },
        )
    year = timezone.localdate().year
    for employee in Employee.objects.filter(is_active=True):
        for code, balance in _entitlements(employee).items():
            BenefitEntitlement.objects.get_or_create(
                employee=employee,
                benefit_type=types[code],
                year=year,
                defaults={"balance": balance},
            )
    for employee_no, child_name in DEMO_CHILDREN:
        employee = Employee.objects.filter(employee_no=employee_no).first()
        if employee is None:
            continue
        # Names are encrypted (no lookups by name): compare the decrypted ones.
        children = employee.family.filter(relation=FamilyMember.Relation.CHILD)
        if child_name not in {child.name for child in children}:
            FamilyMember.objects.create(
                employee=employee, relation=FamilyMember.Relation.CHILD, name=child_name
            )
