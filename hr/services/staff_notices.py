"""Notices to staff about themselves 个人实时反馈: their monthly score, their top-10 % bonus,
their entry on the reserve-cadre list, and a patient's praise.

Each notice goes to the employee's own account only (in the app and by email, bilingual like
every other notice) and never to a group-chat webhook (`personal=True`): nobody else sees one
person's score or bonus. They are written in the caller's transaction, through the
notifications outbox, so they go out exactly when what they announce is committed. Where a
process runs (PIP, remedial training, compliance deduction) the process tells people itself;
these rules are not processes, so their services tell the employee.
"""

from decimal import Decimal
from typing import Any

from django.utils import timezone

from hr.models import (
    AppraisalIndicator,
    BonusRecord,
    ComplianceSignal,
    Employee,
    MonthlyAppraisal,
)
from workflows import notifications
from workflows.models import Notification

RATING_NAMES = {
    MonthlyAppraisal.Rating.EXCELLENT: ("优秀", "excellent"),
    MonthlyAppraisal.Rating.GOOD: ("良好", "good"),
    MonthlyAppraisal.Rating.PASS: ("合格", "pass"),
    MonthlyAppraisal.Rating.FAIL: ("不合格", "fail"),
}
# What a praise may carry in the signal's details (both optional): the patient satisfaction
# score and an honour the survey awarded (e.g. 服务明星).
SATISFACTION_KEY = "satisfaction_score"
HONOUR_KEY = "honour"
HONOUR_MAX_LENGTH = 50


def _number(value: Decimal | float) -> str:
    """92.10 -> "92.1", 85.00 -> "85"."""
    text = f"{Decimal(str(value)).quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _tell(employee: Employee, title: str, body: str) -> list[Notification]:
    if employee.user_id is None:
        return []
    return notifications.notify(
        kind=Notification.Kind.MESSAGE,
        recipients=[employee.user],
        title=title,
        body=body,
        personal=True,
    )


def appraisal_notices_send(
    *, appraisal: MonthlyAppraisal, reserve_added: bool
) -> list[Notification]:
    """Tell the employee their month's total and rating, and, when this month put them on the
    reserve-cadre list, that too."""
    employee = appraisal.employee
    label = f"{appraisal.period_date:%Y-%m}"
    zh_rating, en_rating = RATING_NAMES[appraisal.rating]
    total = _number(appraisal.total)
    notes = _tell(
        employee,
        f"{label}月度绩效结果 / Your appraisal for {label}",
        f"您{label}月度绩效考核总分{total}分，评级：{zh_rating}。\n"
        f"Your appraisal total for {label} is {total}, rated {en_rating}.",
    )
    if reserve_added:
        notes += reserve_cadre_notice_send(employee=employee, period_label=label)
    return notes


def reserve_cadre_notice_send(*, employee: Employee, period_label: str) -> list[Notification]:
    """Tell the employee they entered the reserve-cadre list 储备干部."""
    return _tell(
        employee,
        "入选储备干部 / You are on the reserve-cadre list",
        f"恭喜！您连续3个月绩效优秀（截至{period_label}），已入选储备干部名单。\n"
        f"Congratulations! Three consecutive excellent months (up to {period_label}) put you "
        "on the reserve-cadre list.",
    )


def bonus_notice_send(*, record: BonusRecord) -> list[Notification]:
    """Tell the employee they are in the month's top 10 % and get its bonus."""
    label = f"{record.period_date:%Y-%m}"
    percent = _number(record.percent)
    return _tell(
        record.employee,
        f"{label}月度绩效前10% / Top 10 % of {label}",
        f"恭喜！您{label}月度绩效位列前10%，获得{percent}%绩效奖金。\n"
        f"Congratulations! You are in the top 10 % of {label} and get a {percent} % bonus.",
    )


def _praise_facts(details: dict[str, Any]) -> tuple[str, str]:
    """The satisfaction score and honour of a praise's details, as text ("" when absent or
    not usable)."""
    score = details.get(SATISFACTION_KEY)
    score_text = ""
    if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 100:
        score_text = _number(score)
    honour = details.get(HONOUR_KEY)
    honour_text = ""
    if isinstance(honour, str) and 0 < len(honour.strip()) <= HONOUR_MAX_LENGTH:
        honour_text = honour.strip()
    return score_text, honour_text


def commendation_notice_send(
    *, signal: ComplianceSignal, indicator_code: str, points: Decimal | None
) -> list[Notification]:
    """Tell the employee a patient praised them 表扬: the satisfaction score and honour when
    the survey gave them, and the points added to the month's appraisal."""
    employee = signal.employee
    label = f"{timezone.localdate(signal.occurred_at):%Y-%m}"
    score, honour = _praise_facts(signal.details or {})
    zh, en = [f"您{label}月收到一条患者表扬"], [f"A patient commended you in {label}"]
    if score:
        zh = [f"您{label}月患者满意度评分{score}分"]
        en = [f"Your patient satisfaction score for {label} is {score}"]
    if honour:
        zh.append(f"获得「{honour}」称号")
        en.append(f"you earned the title “{honour}”")
    if indicator_code and points:
        indicator = AppraisalIndicator.objects.filter(
            role_family=employee.role_family, code=indicator_code
        ).first()
        if indicator is not None:
            zh.append(f"{label}月度考核「{indicator.name}」加{_number(points)}分")
            en.append(f"+{_number(points)} on “{indicator.name}” in the {label} appraisal")
    return _tell(
        employee,
        "患者表扬 / Patient praise",
        "，".join(zh) + "。\n" + ", ".join(en) + ".",
    )
