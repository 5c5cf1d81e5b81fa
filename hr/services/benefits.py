"""Domain services of the benefit claim process (福利权益中心).

A claim names a benefit type, a quantity in the type's unit (days of annual leave, CNY of a
subsidy or fund, 1 for a booking or an arrangement) and dates. Types limited by a balance
(annual leave, the health check, the subsidy and fund budgets) draw on the employee's
`BenefitEntitlement` of the year the claim starts in: a claim over the balance is refused
with the numbers in the reason, and a granted claim debits the balance under a row lock, so
it never goes below zero even when two claims are approved at once. What was paid out,
booked or arranged is recorded as a `BenefitGrant` that points back at the process instance.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from hr.models import BenefitEntitlement, BenefitGrant, BenefitType, Employee, FamilyMember
from workflows.exceptions import InvalidInput, NotFound

Unit = BenefitType.Unit
TWO_PLACES = Decimal("0.01")

# Statutory paid annual leave by cumulative years of work (职工带薪年休假条例, art. 3):
# at least 1 year: 5 days, at least 10 years: 10 days, at least 20 years: 15 days.
ANNUAL_LEAVE_DAYS_BY_YEARS = ((20, 15), (10, 10), (1, 5))


def annual_leave_days(*, years_of_service: int) -> int:
    """Statutory annual leave days for `years_of_service` full years of work."""
    for years, days in ANNUAL_LEAVE_DAYS_BY_YEARS:
        if years_of_service >= years:
            return days
    return 0


def years_of_service(*, employee: Employee, on_date: dt.date) -> int | None:
    """Full years since the employee's hire date, or None when it is not on file."""
    if employee.hire_date is None:
        return None
    years = on_date.year - employee.hire_date.year
    if (on_date.month, on_date.day) < (employee.hire_date.month, employee.hire_date.day):
        years -= 1
    return max(years, 0)


def _money(value: Decimal | float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(TWO_PLACES)


def _benefit_type(code: str) -> BenefitType:
    benefit_type = BenefitType.objects.filter(code=code).first()
    if benefit_type is None:
        raise NotFound(f"no benefit type {code!r}")
    return benefit_type


def _number(value: Decimal) -> str:
    """2.00 -> "2", 2.50 -> "2.5", for reasons people read."""
    return format(value.normalize(), "f")


@transaction.atomic
def benefit_entitlement_set(
    *, employee: Employee, benefit_type_code: str, year: int, balance: Decimal | int | str
) -> BenefitEntitlement:
    """Set an employee's balance of a benefit for a year (creating the row if needed)."""
    balance = _money(balance)
    if balance < 0:
        raise InvalidInput([{"field": "balance", "message": "a balance cannot be negative"}])
    entitlement, _ = BenefitEntitlement.objects.update_or_create(
        employee=employee,
        benefit_type=_benefit_type(benefit_type_code),
        year=year,
        defaults={"balance": balance},
    )
    return entitlement


@dataclass(frozen=True)
class ClaimantProfile:
    """What the eligibility table needs to know about the claimant."""

    role_family: str
    children_on_file: int
    years_of_service: int | None

    def as_dict(self) -> dict:
        return {
            "role_family": self.role_family,
            "children_on_file": self.children_on_file,
            "years_of_service": self.years_of_service,
        }


def benefit_claimant_profile(*, employee_id: int, on_date: dt.date) -> ClaimantProfile:
    """The claimant's role family, children on file and years of service."""
    employee = Employee.objects.get(pk=employee_id)
    children = FamilyMember.objects.filter(
        employee=employee, relation=FamilyMember.Relation.CHILD
    ).count()
    return ClaimantProfile(
        role_family=employee.role_family,
        children_on_file=children,
        years_of_service=years_of_service(employee=employee, on_date=on_date),
    )


@dataclass(frozen=True)
class ClaimCheck:
    """Whether a claim may go to its reviewers, and if not, why (bilingual)."""

    is_ok: bool
    reason: str
    year: int
    balance: Decimal | None

    def as_dict(self) -> dict:
        return {
            "is_ok": self.is_ok,
            "reason": self.reason,
            "year": self.year,
            "balance": float(self.balance) if self.balance is not None else None,
        }


def _balance(employee_id: int, benefit_type: BenefitType, year: int) -> Decimal:
    entitlement = BenefitEntitlement.objects.filter(
        employee_id=employee_id, benefit_type=benefit_type, year=year
    ).first()
    return entitlement.balance if entitlement is not None else Decimal("0.00")


UNIT_WORDS = {
    Unit.DAYS: ("days", "天"),
    Unit.AMOUNT: ("CNY", "元"),
    Unit.BOOKING: ("bookings", "次"),
    Unit.ARRANGEMENT: ("", ""),
}


def _over_balance_reason(
    benefit_type: BenefitType, quantity: Decimal, balance: Decimal, year: int
) -> str:
    en, zh = UNIT_WORDS[benefit_type.unit]
    return (
        f"Not enough balance of {benefit_type.name}: {_number(quantity)} {en} claimed, "
        f"{_number(balance)} {en} left for {year}. "
        f"余额不足：申请{_number(quantity)}{zh}，{year}年剩余{_number(balance)}{zh}。"
    )


def benefit_claim_check(
    *,
    employee_id: int,
    benefit_type_code: str,
    quantity: Decimal | float | int | str,
    start_date: dt.date,
    end_date: dt.date,
    is_limited_by_balance: bool,
) -> ClaimCheck:
    """Check the dates and, for a type limited by a balance, that the balance covers it."""
    benefit_type = _benefit_type(benefit_type_code)
    quantity = _money(quantity)
    year = start_date.year
    if end_date < start_date:
        return ClaimCheck(
            False,
            "The end date is before the start date. 结束日期早于开始日期。",
            year,
            None,
        )
    if not is_limited_by_balance:
        return ClaimCheck(True, "", year, None)
    balance = _balance(employee_id, benefit_type, year)
    if quantity > balance:
        return ClaimCheck(
            False, _over_balance_reason(benefit_type, quantity, balance, year), year, balance
        )
    return ClaimCheck(True, "", year, balance)


@dataclass(frozen=True)
class GrantResult:
    """The grant recorded for a claim, or why it could not be (the balance ran out)."""

    is_granted: bool
    reason: str
    detail: str
    grant_id: int | None
    balance_after: Decimal | None

    def as_dict(self) -> dict:
        return {
            "is_granted": self.is_granted,
            "reason": self.reason,
            "detail": self.detail,
            "grant_id": self.grant_id,
            "balance_after": float(self.balance_after) if self.balance_after is not None else None,
        }


def _grant_detail(
    benefit_type: BenefitType, quantity: Decimal, start_date: dt.date, end_date: dt.date
) -> str:
    period = start_date.isoformat()
    if end_date != start_date:
        period = f"{start_date.isoformat()} – {end_date.isoformat()}"
    if benefit_type.unit == Unit.DAYS:
        text = f"{benefit_type.name}: {_number(quantity)} days 天, {period}"
    elif benefit_type.unit == Unit.AMOUNT:
        text = f"{benefit_type.name}: payout 发放 {quantity} CNY 元 ({period})"
    elif benefit_type.unit == Unit.BOOKING:
        text = f"{benefit_type.name}: booked for 预约于 {period}"
    else:
        text = f"{benefit_type.name}: arranged 已安排 {period}"
    return text[:300]


@transaction.atomic
def benefit_grant_record(
    *,
    employee_id: int,
    benefit_type_code: str,
    quantity: Decimal | float | int | str,
    start_date: dt.date,
    end_date: dt.date,
    is_limited_by_balance: bool,
    process_instance_id: int | None,
) -> GrantResult:
    """Record an approved claim as a grant, debiting the balance when the type has one.

    The balance row is locked and checked again: another claim may have used it up since
    the claim was checked. Recording the same instance's claim again returns the first grant.
    """
    benefit_type = _benefit_type(benefit_type_code)
    quantity = _money(quantity)
    if process_instance_id is not None:
        existing = BenefitGrant.objects.filter(
            process_instance_id=process_instance_id, employee_id=employee_id
        ).first()
        if existing is not None:
            return GrantResult(True, "", existing.detail, existing.pk, None)
    balance_after = None
    if is_limited_by_balance:
        year = start_date.year
        entitlement = (
            BenefitEntitlement.objects.select_for_update()
            .filter(employee_id=employee_id, benefit_type=benefit_type, year=year)
            .first()
        )
        balance = entitlement.balance if entitlement is not None else Decimal("0.00")
        if entitlement is None or quantity > balance:
            return GrantResult(
                False,
                _over_balance_reason(benefit_type, quantity, balance, year),
                "",
                None,
                balance,
            )
        entitlement.balance = balance - quantity
        entitlement.save(update_fields=["balance"])
        balance_after = entitlement.balance
    detail = _grant_detail(benefit_type, quantity, start_date, end_date)
    grant = BenefitGrant.objects.create(
        employee_id=employee_id,
        benefit_type=benefit_type,
        quantity=quantity,
        detail=detail,
        process_instance_id=process_instance_id,
    )
    return GrantResult(True, "", detail, grant.pk, balance_after)
