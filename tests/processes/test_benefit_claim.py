"""Benefit claim 福利申请 (bpmn/benefit_claim.bpmn), driven through the REST API along each path.

The claimant (org.nurse, managed by org.head_nurse in east-nursing) starts the claim; the
DMN table benefit_claim_route gives eligibility and the approval chain; balances are set up
with the benefits services; outcomes are asserted on the grants, the balances, the claimant's
notification and the instance the claimant can read.
"""

import datetime as dt
from decimal import Decimal

import pytest

from hr.models import BenefitEntitlement, BenefitGrant, Employee, FamilyMember
from hr.seed import benefits as benefit_seed
from hr.services.benefits import benefit_entitlement_set
from tests.factories import EmployeeFactory
from tests.processes.conftest import api, complete, deploy_shipped, open_tasks
from workflows.models import Notification, ProcessInstance

pytestmark = pytest.mark.django_db

# Monday 2 March 2026, 09:00 in Shanghai.
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
YEAR = 2026
GRANTED = "福利申请已批准 Benefit claim granted"
NOT_GRANTED = "福利申请未获批准 Benefit claim not granted"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def benefit_claim(org, clock):
    """The process deployed, the catalogue and this year's entitlements seeded: the nurse has
    5 days of annual leave, 1 health check and a 6,000 CNY child education budget."""
    benefit_seed.seed()
    return deploy_shipped("benefit_claim.bpmn")


def claim(**changes) -> dict:
    data = {
        "benefit_type": "annual_leave",
        "quantity": 2,
        "start_date": "2026-03-10",
        "end_date": "2026-03-11",
        "reason": "Family trip 家庭出行",
        "documents": [],
    }
    data.update(changes)
    return data


def start(user, data: dict):
    return api(user).post(
        "/api/v1/instances/start", {"process": "benefit_claim", "data": data}, format="json"
    )


def start_claim(org, **changes) -> dict:
    response = start(org.nurse.user, claim(**changes))
    assert response.status_code == 201, response.content
    return response.json()


def seen_by_claimant(org, instance_id: int) -> dict:
    response = api(org.nurse.user).get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.content
    return response.json()


def task_of(user, instance_id: int) -> dict:
    (task,) = [t for t in open_tasks(api(user)) if t["instance"] == instance_id]
    return task


def decide(user, instance_id: int, data: dict) -> None:
    complete(api(user), task_of(user, instance_id)["id"], data)


def outcome(org, instance_id: int) -> dict:
    """The final data of the instance, as the claimant reads it in the history."""
    response = api(org.nurse.user).get(f"/api/v1/instances/{instance_id}/history")
    assert response.status_code == 200, response.content
    (completed,) = [e for e in response.json() if e["kind"] == "instance_completed"]
    data = completed["data"]["data"]
    return {"outcome": data["outcome"], "reason": data["outcome_reason"]}


def balance(employee: Employee, code: str) -> Decimal:
    return BenefitEntitlement.objects.get(
        employee=employee, benefit_type__code=code, year=YEAR
    ).balance


def notified(org) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(recipient=org.nurse.user, kind=Notification.Kind.MESSAGE)
        .order_by("pk")
        .values_list("title", "body")
    )


def grants(org) -> list[tuple[str, Decimal, str]]:
    return list(
        BenefitGrant.objects.filter(employee=org.nurse)
        .order_by("pk")
        .values_list("benefit_type__code", "quantity", "detail")
    )


# --- statutory: annual leave ------------------------------------------------------------------


def test_short_annual_leave_is_decided_by_the_supervisor_and_debits_the_balance(org, benefit_claim):
    instance = start_claim(org, quantity=2)

    assert instance["status"] == "waiting"
    assert instance["waiting_at"] == ["Review by supervisor 主管审批"]
    form = api(org.head_nurse.user).get(
        f"/api/v1/tasks/{task_of(org.head_nurse.user, instance['id'])['id']}"
    )
    assert form.json()["form"]["data"]["approval_chain"] == ["supervisor"]
    assert form.json()["form"]["data"]["claim_check"] == {
        "is_ok": True,
        "reason": "",
        "year": 2026,
        "balance": 5.0,
    }

    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})

    assert seen_by_claimant(org, instance["id"])["status"] == "completed"
    assert seen_by_claimant(org, instance["id"])["waiting_at"] == []
    assert outcome(org, instance["id"]) == {
        "outcome": "granted",
        "reason": "Annual leave 年假: 2 days 天, 2026-03-10 – 2026-03-11",
    }
    assert balance(org.nurse, "annual_leave") == Decimal("3.00")
    assert grants(org) == [
        ("annual_leave", Decimal("2.00"), "Annual leave 年假: 2 days 天, 2026-03-10 – 2026-03-11")
    ]
    assert BenefitGrant.objects.get().process_instance_id == instance["id"]
    assert notified(org) == [(GRANTED, "Annual leave 年假: 2 days 天, 2026-03-10 – 2026-03-11")]


def test_the_claimant_sees_every_state_in_waiting_at_and_the_history(org, benefit_claim):
    instance = start_claim(org, quantity=4, start_date="2026-03-09", end_date="2026-03-12")
    states = [seen_by_claimant(org, instance["id"])["waiting_at"]]

    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    states.append(seen_by_claimant(org, instance["id"])["waiting_at"])
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})
    states.append(seen_by_claimant(org, instance["id"])["waiting_at"])

    assert states == [
        ["Review by supervisor 主管审批"],
        ["Review by clinic HR 门店人力资源部审批"],
        [],
    ]
    history = api(org.nurse.user).get(f"/api/v1/instances/{instance['id']}/history").json()
    assert [(e["kind"], e["element_id"], e["actor"]) for e in history] == [
        ("instance_started", "", "nurse"),
        ("task_created", "review_by_supervisor", ""),
        ("task_completed", "review_by_supervisor", "head_nurse"),
        ("task_created", "review_by_clinic_hr", ""),
        ("task_completed", "review_by_clinic_hr", "east_hr"),
        ("instance_completed", "", ""),
    ]


def test_more_than_three_days_of_leave_also_go_to_clinic_hr(org, benefit_claim):
    instance = start_claim(org, quantity=4, start_date="2026-03-09", end_date="2026-03-12")

    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    assert seen_by_claimant(org, instance["id"])["waiting_at"] == [
        "Review by clinic HR 门店人力资源部审批"
    ]
    assert [t["instance"] for t in open_tasks(api(org.west_hr.user))] == []
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})

    assert outcome(org, instance["id"])["outcome"] == "granted"
    assert balance(org.nurse, "annual_leave") == Decimal("1.00")


def test_annual_leave_over_the_balance_is_refused_at_once_with_the_numbers(org, benefit_claim):
    instance = start_claim(org, quantity=5.5, start_date="2026-03-09", end_date="2026-03-14")

    reason = (
        "Not enough balance of Annual leave 年假: 5.5 days claimed, 5 days left for 2026. "
        "余额不足：申请5.5天，2026年剩余5天。"
    )
    assert instance["status"] == "completed"
    assert instance["waiting_at"] == []
    assert outcome(org, instance["id"]) == {"outcome": "rejected", "reason": reason}
    assert balance(org.nurse, "annual_leave") == Decimal("5.00")
    assert grants(org) == []
    assert notified(org) == [(NOT_GRANTED, reason)]


def test_a_claim_of_exactly_the_balance_is_granted_down_to_zero(org, benefit_claim):
    instance = start_claim(org, quantity=5, start_date="2026-03-09", end_date="2026-03-13")

    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})

    assert outcome(org, instance["id"])["outcome"] == "granted"
    assert balance(org.nurse, "annual_leave") == Decimal("0.00")


def test_leave_of_a_year_without_an_entitlement_is_refused(org, benefit_claim):
    instance = start_claim(org, quantity=1, start_date="2027-01-04", end_date="2027-01-04")

    assert outcome(org, instance["id"]) == {
        "outcome": "rejected",
        "reason": "Not enough balance of Annual leave 年假: 1 days claimed, 0 days left for 2027. "
        "余额不足：申请1天，2027年剩余0天。",
    }


def test_the_grant_is_refused_when_another_claim_used_the_balance_up_meanwhile(org, benefit_claim):
    first = start_claim(org, quantity=3, start_date="2026-03-09", end_date="2026-03-11")
    second = start_claim(org, quantity=3, start_date="2026-04-07", end_date="2026-04-09")
    # Both fit the 5 days when they are checked; only one can be granted.
    assert [i["waiting_at"] for i in (first, second)] == [["Review by supervisor 主管审批"]] * 2

    decide(org.head_nurse.user, first["id"], {"supervisor_decision": "approve"})
    decide(org.head_nurse.user, second["id"], {"supervisor_decision": "approve"})

    assert outcome(org, first["id"])["outcome"] == "granted"
    assert outcome(org, second["id"]) == {
        "outcome": "rejected",
        "reason": "Not enough balance of Annual leave 年假: 3 days claimed, 2 days left for 2026. "
        "余额不足：申请3天，2026年剩余2天。",
    }
    assert balance(org.nurse, "annual_leave") == Decimal("2.00")
    assert [g[1] for g in grants(org)] == [Decimal("3.00")]


def test_a_supervisor_rejection_needs_a_comment_which_the_claimant_reads(org, benefit_claim):
    instance = start_claim(org, quantity=2)
    task_id = task_of(org.head_nurse.user, instance["id"])["id"]

    refused = api(org.head_nurse.user).post(
        f"/api/v1/tasks/{task_id}/complete",
        {"data": {"supervisor_decision": "reject"}},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {"field": "supervisor_comment", "message": "this field is required"}
    ]
    complete(
        api(org.head_nurse.user),
        task_id,
        {"supervisor_decision": "reject", "supervisor_comment": "Ward short-staffed 病区人手不足"},
    )

    reason = "Rejected by your supervisor 主管驳回: Ward short-staffed 病区人手不足"
    assert outcome(org, instance["id"]) == {"outcome": "rejected", "reason": reason}
    assert balance(org.nurse, "annual_leave") == Decimal("5.00")
    assert grants(org) == []
    assert notified(org) == [(NOT_GRANTED, reason)]


def test_end_date_before_start_date_is_refused(org, benefit_claim):
    instance = start_claim(org, start_date="2026-03-11", end_date="2026-03-10")

    assert outcome(org, instance["id"]) == {
        "outcome": "rejected",
        "reason": "The end date is before the start date. 结束日期早于开始日期。",
    }


# --- company benefits --------------------------------------------------------------------------


def test_a_health_check_is_booked_by_clinic_hr_once_a_year(org, benefit_claim):
    booking = {"benefit_type": "health_check", "quantity": 1}
    first = start_claim(org, **booking, start_date="2026-04-10", end_date="2026-04-10")

    assert first["waiting_at"] == ["Review by clinic HR 门店人力资源部审批"]
    assert open_tasks(api(org.head_nurse.user)) == []
    decide(org.east_hr.user, first["id"], {"clinic_hr_decision": "approve"})

    detail = "Health check 体检套餐: booked for 预约于 2026-04-10"
    assert outcome(org, first["id"]) == {"outcome": "granted", "reason": detail}
    assert grants(org) == [("health_check", Decimal("1.00"), detail)]
    assert balance(org.nurse, "health_check") == Decimal("0.00")

    second = start_claim(org, **booking, start_date="2026-10-10", end_date="2026-10-10")
    assert outcome(org, second["id"]) == {
        "outcome": "rejected",
        "reason": "Not enough balance of Health check 体检套餐: 1 bookings claimed, "
        "0 bookings left for 2026. 余额不足：申请1次，2026年剩余0次。",
    }


def test_child_education_subsidy_needs_a_child_on_file(org, benefit_claim):
    subsidy = {
        "benefit_type": "child_education_subsidy",
        "quantity": 3000,
        "start_date": "2026-02-20",
        "end_date": "2026-02-20",
        "documents": ["学费收据-2026春.pdf"],
    }
    refused = start_claim(org, **subsidy)
    assert outcome(org, refused["id"]) == {
        "outcome": "rejected",
        "reason": "The child education subsidy needs a child on file with HR. "
        "子女教育补贴需先在人力资源部登记子女信息。",
    }

    FamilyMember.objects.create(
        employee=org.nurse, relation=FamilyMember.Relation.CHILD, name="Xiaoyu 小雨"
    )
    granted = start_claim(org, **subsidy)
    decide(org.head_nurse.user, granted["id"], {"supervisor_decision": "approve"})
    decide(org.east_hr.user, granted["id"], {"clinic_hr_decision": "approve"})

    assert outcome(org, granted["id"]) == {
        "outcome": "granted",
        "reason": "Child education subsidy 子女教育补贴: payout 发放 3000.00 CNY 元 (2026-02-20)",
    }
    assert balance(org.nurse, "child_education_subsidy") == Decimal("3000.00")


def test_a_fund_claim_over_5000_also_goes_to_group_hr(org, benefit_claim):
    benefit_entitlement_set(
        employee=org.nurse, benefit_type_code="academic_exchange_fund", year=YEAR, balance=10000
    )
    instance = start_claim(
        org,
        benefit_type="academic_exchange_fund",
        quantity=5000.01,
        start_date="2026-05-20",
        end_date="2026-05-23",
        documents=["CNA-2026-invitation.pdf", "registration-0520.pdf"],
    )
    steps = [instance["waiting_at"]]
    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    steps.append(seen_by_claimant(org, instance["id"])["waiting_at"])
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})
    steps.append(seen_by_claimant(org, instance["id"])["waiting_at"])
    decide(org.group_hr.user, instance["id"], {"group_hr_decision": "approve"})

    assert steps == [
        ["Review by supervisor 主管审批"],
        ["Review by clinic HR 门店人力资源部审批"],
        ["Review by group HR 集团人力资源部审批"],
    ]
    assert outcome(org, instance["id"])["outcome"] == "granted"
    assert balance(org.nurse, "academic_exchange_fund") == Decimal("4999.99")


def test_the_academic_exchange_fund_is_for_clinical_staff(org, benefit_claim):
    clerk = EmployeeFactory(
        user__username="clerk",
        org_unit=org.east,
        manager=org.head_nurse,
        role_family=Employee.RoleFamily.ADMIN,
    )
    response = start(
        clerk.user,
        claim(
            benefit_type="academic_exchange_fund",
            quantity=800,
            documents=["course-registration.pdf"],
        ),
    )

    instance = ProcessInstance.objects.get(pk=response.json()["id"])
    final = instance.events.get(kind="instance_completed").data["data"]
    assert (final["outcome"], final["outcome_reason"]) == (
        "rejected",
        "The academic exchange fund is for clinical staff (doctors, nurses, technicians). "
        "学术交流经费仅限临床人员（医生、护士、技师）。",
    )


# --- special care ------------------------------------------------------------------------------


def test_a_hardship_subsidy_of_5000_is_decided_by_supervisor_and_clinic_hr(org, benefit_claim):
    instance = start_claim(
        org,
        benefit_type="hardship_subsidy",
        quantity=5000,
        reason="Flood damage at home 家中受灾",
        documents=["村委会证明.jpg"],
    )
    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})

    assert outcome(org, instance["id"]) == {
        "outcome": "granted",
        "reason": "Hardship subsidy 困难员工补助: payout 发放 5000.00 CNY 元 "
        "(2026-03-10 – 2026-03-11)",
    }
    assert grants(org)[0][:2] == ("hardship_subsidy", Decimal("5000.00"))


def test_group_hr_can_refuse_a_large_hardship_subsidy(org, benefit_claim):
    instance = start_claim(
        org,
        benefit_type="hardship_subsidy",
        quantity=8000,
        reason="Medical bills of a parent 父母医疗费用",
        documents=["住院费用清单.pdf"],
    )
    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})
    decide(
        org.group_hr.user,
        instance["id"],
        {"group_hr_decision": "reject", "group_hr_comment": "Over this year's fund 超出年度预算"},
    )

    assert outcome(org, instance["id"]) == {
        "outcome": "rejected",
        "reason": "Rejected by group HR 集团人力资源部驳回: Over this year's fund 超出年度预算",
    }
    assert grants(org) == []


def test_clinic_hr_can_refuse_flexible_working(org, benefit_claim):
    instance = start_claim(
        org,
        benefit_type="flexible_working",
        quantity=1,
        start_date="2026-04-01",
        end_date="2026-06-30",
        reason="Child care in the mornings 早晨需照顾孩子",
    )
    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    decide(
        org.east_hr.user,
        instance["id"],
        {"clinic_hr_decision": "reject", "clinic_hr_comment": "Rota fixed until May 排班已定"},
    )

    assert outcome(org, instance["id"]) == {
        "outcome": "rejected",
        "reason": "Rejected by clinic HR 门店人力资源部驳回: Rota fixed until May 排班已定",
    }


def test_flexible_working_is_arranged_without_a_balance(org, benefit_claim):
    instance = start_claim(
        org,
        benefit_type="flexible_working",
        quantity=1,
        start_date="2026-04-01",
        end_date="2026-06-30",
        reason="Child care in the mornings 早晨需照顾孩子",
    )
    decide(org.head_nurse.user, instance["id"], {"supervisor_decision": "approve"})
    decide(org.east_hr.user, instance["id"], {"clinic_hr_decision": "approve"})

    assert grants(org) == [
        (
            "flexible_working",
            Decimal("1.00"),
            "Flexible working 弹性工作制: arranged 已安排 2026-04-01 – 2026-06-30",
        )
    ]


# --- the start form -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"benefit_type": "hardship_subsidy", "quantity": 800, "documents": []}, "documents"),
        (
            {"benefit_type": "child_education_subsidy", "quantity": 800, "documents": []},
            "documents",
        ),
        ({"benefit_type": "hardship_subsidy", "reason": "", "documents": ["a.pdf"]}, "reason"),
        ({"benefit_type": "health_check", "quantity": 2}, "quantity"),
        ({"benefit_type": "annual_leave", "quantity": 1.3}, "quantity"),
        ({"benefit_type": "annual_leave", "quantity": 31}, "quantity"),
        ({"benefit_type": "social_insurance"}, "benefit_type"),
        ({"quantity": 0}, "quantity"),
    ],
)
def test_the_start_form_refuses_claims_that_break_its_rules(org, benefit_claim, changes, field):
    response = start(org.nurse.user, claim(**changes))

    assert response.status_code == 400
    assert field in {e["field"] for e in response.json()["errors"]}
    assert ProcessInstance.objects.count() == 0


def test_an_employee_cannot_claim_for_a_colleague(org, benefit_claim):
    response = api(org.nurse.user).post(
        "/api/v1/instances/start",
        {"process": "benefit_claim", "subject": org.west_nurse.employee_no, "data": claim()},
        format="json",
    )

    assert response.status_code == 403


def test_the_benefits_centre_lists_my_balances(org, benefit_claim):
    response = api(org.nurse.user).get("/api/v1/benefits")

    assert response.status_code == 200
    assert {row["code"]: row["balance"] for row in response.json()} == {
        "annual_leave": "5.00",
        "health_check": "1.00",
        "child_education_subsidy": "6000.00",
        "academic_exchange_fund": "10000.00",
        "hardship_subsidy": None,
        "flexible_working": None,
    }
    assert api(org.nurse.user).get("/api/v1/benefits?year=2027").json()[0]["balance"] is None
