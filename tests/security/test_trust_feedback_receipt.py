"""Issue 16, item 3: data a diagram wrote onto a feedback ticket came back through the
unauthenticated receipt lookup, whose code also travelled in the URL (and so into access
logs beside the client's address).

Now (api/views/feedback.py, hr/services/feedback.py `feedback_receipt_answer`):
- `POST /api/v1/feedback/receipt` with {"receipt_code": ...} answers exactly four fields:
  the status, and the outcome / reason / follow-up plan only when each is the text a person
  typed into the resolution form of the ticket's own process. A text a script put in its
  place is withheld (null); nothing else of the ticket or its process is ever answered.
- `/api/v1/feedback/{code}` is gone (410 for every method), without looking the code up and
  without writing the path to the request log.
- Lookups are throttled per client address (DEFAULT_THROTTLE_RATES["feedback_receipt"]):
  429 with Retry-After, even for the right code.
- A wrong code, whatever it looks like, answers the same 404 body.
"""

import io
import logging

import pytest
from rest_framework.test import APIClient

from hr.models import FeedbackTicket
from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from workflows import services
from workflows.models import ProcessInstance

pytestmark = pytest.mark.django_db

RECEIPT = "/api/v1/feedback/receipt"
TRIAGE = "Classify and route (group HR) 分类分派（集团）"
ACKNOWLEDGE = "Acknowledge feedback 确认受理"
RESOLVE = "Resolve feedback 处理心声"
# What the trojan diagram writes onto the ticket: process data that is not the sender's
# business (here another nurse's national ID number, as a diagram could read it).
LEAKED = "E0207 national ID 110101199003071234"
# After the handler submits the resolution form, the diagram replaces every answer with it.
TROJAN_POST_SCRIPT = (
    "<spiffworkflow:postScript>"
    f'resolution = "{LEAKED}"\nreason = "{LEAKED}"\nfollow_up_plan = "{LEAKED}"'
    "</spiffworkflow:postScript>"
)


def trojan_feedback_closure() -> dict[str, bytes]:
    """The shipped feedback bundle with a post-script on the resolution task."""
    files = dict(shipped_bundle("feedback_closure.bpmn"))
    bpmn = files["feedback_closure.bpmn"].decode()
    anchor = '<spiffworkflow:property name="formUiSchemaFilename" value="feedback_resolution'
    start = bpmn.index(anchor)
    end = bpmn.index("</spiffworkflow:properties>", start) + len("</spiffworkflow:properties>")
    files["feedback_closure.bpmn"] = (bpmn[:end] + TROJAN_POST_SCRIPT + bpmn[end:]).encode()
    return files


def upload(client, files: dict[str, bytes]):
    parts = []
    for name, content in files.items():
        part = io.BytesIO(content)
        part.name = name
        parts.append(part)
    return client.post("/api/v1/deployments", {"files": parts}, format="multipart")


@pytest.fixture
def feedback_closure(org):
    return services.version_deploy(files=shipped_bundle("feedback_closure.bpmn")).version


@pytest.fixture
def trojan(feedback_closure, personas):
    """The process owner deploys the trojan as the next version of feedback_closure."""
    response = upload(client_for(personas.process_owner), trojan_feedback_closure())
    assert response.status_code == 201, response.content
    return response.json()


def lookup(code, client=None, **extra):
    return (client or APIClient()).post(RECEIPT, {"receipt_code": code}, format="json", **extra)


def submit_anonymously(org) -> str:
    response = client_for(org.nurse.user).post(
        "/api/v1/feedback",
        {"text": "夜班太多，人手不足 Too many night shifts", "is_anonymous": True},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["receipt_code"]


def work(user, code: str, name: str, data: dict) -> None:
    """`user` completes the open task `name` of the ticket's instance, through the API."""
    ticket = FeedbackTicket.objects.get(receipt_code=code)
    (instance,) = [
        i
        for i in ProcessInstance.objects.filter(definition__key="feedback_closure")
        if i.events.get(kind="instance_started").data["data"]["ticket_id"] == ticket.pk
    ]
    tasks = client_for(user).get("/api/v1/tasks").json()["results"]
    (task,) = [t for t in tasks if t["instance"] == instance.pk and t["name"] == name]
    response = client_for(user).post(
        f"/api/v1/tasks/{task['id']}/complete", {"data": data}, format="json"
    )
    assert response.status_code == 200, response.content


def close(org, code: str, **resolution) -> None:
    work(org.group_hr.user, code, TRIAGE, {"category": "workload", "department": "east-nursing"})
    work(org.head_nurse.user, code, ACKNOWLEDGE, {"acknowledged": True})
    work(org.head_nurse.user, code, RESOLVE, resolution)


# --- what the answer carries --------------------------------------------------------------------


def test_data_a_diagram_wrote_as_the_outcome_is_not_answered(org, trojan):
    # Given anonymous feedback handled under the trojan version, whose script replaced the
    # head nurse's resolution with another nurse's ID number
    code = submit_anonymously(org)
    close(org, code, outcome="resolved", resolution="Two more nurses on the night rota")
    assert FeedbackTicket.objects.get(receipt_code=code).resolution == LEAKED

    # when anyone holding the code looks it up
    response = lookup(code)

    # then the status is answered and the text the diagram wrote is not
    assert response.status_code == 200
    assert response.json() == {
        "status": "resolved",
        "outcome": None,
        "reason": None,
        "follow_up_plan": None,
        "question": None,
    }
    assert "110101199003071234" not in response.content.decode()


def test_data_a_diagram_wrote_as_reason_and_plan_is_not_answered(org, trojan):
    code = submit_anonymously(org)
    close(
        org,
        code,
        outcome="not_resolved",
        reason="The rota depends on next year's hiring",
        follow_up_plan="Rotate weekends monthly from April",
    )
    stored = FeedbackTicket.objects.get(receipt_code=code)
    assert (stored.resolution, stored.follow_up_plan) == (LEAKED, LEAKED)

    response = lookup(code)

    assert response.status_code == 200
    assert response.json() == {
        "status": "not_resolved",
        "outcome": None,
        "reason": None,
        "follow_up_plan": None,
        "question": None,
    }
    assert "110101199003071234" not in response.content.decode()


def test_the_answers_a_person_wrote_are_answered_and_nothing_else(org, feedback_closure):
    # Given feedback closed under the shipped process, as not resolved
    code = submit_anonymously(org)
    close(
        org,
        code,
        outcome="not_resolved",
        reason="  The rota depends on next year's hiring 取决于明年招聘 ",
        follow_up_plan="Rotate weekends monthly from April 四月起按月轮换",
    )

    response = lookup(code.lower())

    # then exactly the allow-listed fields: no code, text, category, department or ids
    assert response.status_code == 200
    assert response.json() == {
        "status": "not_resolved",
        "outcome": None,
        "reason": "The rota depends on next year's hiring 取决于明年招聘",
        "follow_up_plan": "Rotate weekends monthly from April 四月起按月轮换",
        "question": None,
    }


def test_an_open_ticket_answers_its_status_only(org, feedback_closure):
    code = submit_anonymously(org)

    response = lookup(code)

    assert response.json() == {
        "status": "received",
        "outcome": None,
        "reason": None,
        "follow_up_plan": None,
        "question": None,
    }


# --- the code stays out of URLs -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_a_code_in_the_path_is_not_accepted_nor_logged(org, feedback_closure, caplog, method):
    # Given a real code, when someone uses the former path form
    code = submit_anonymously(org)
    caplog.set_level(logging.DEBUG)

    response = getattr(APIClient(), method)(f"/api/v1/feedback/{code}")

    # then it is gone, tells where codes go, answers nothing of the ticket, and the request
    # log does not hold the code
    assert response.status_code == 410
    assert response.json() == {
        "detail": "receipt codes are not accepted in the URL: send "
        '{"receipt_code": "..."} in the body of POST /api/v1/feedback/receipt'
    }
    assert code not in caplog.text


def test_a_code_in_the_query_string_is_not_read(org, feedback_closure):
    code = submit_anonymously(org)

    in_query = APIClient().post(f"{RECEIPT}?receipt_code={code}", {}, format="json")
    get = APIClient().get(f"{RECEIPT}?receipt_code={code}")

    assert in_query.status_code == 400
    assert [e["field"] for e in in_query.json()["errors"]] == ["receipt_code"]
    assert get.status_code == 405


# --- throttled, and no enumeration --------------------------------------------------------------


@pytest.fixture
def three_per_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "feedback_receipt": "3/min",
        },
    }


def test_lookups_are_throttled_per_client_address(org, feedback_closure, three_per_minute):
    # Given a real code, and someone at one address trying codes
    code = submit_anonymously(org)
    guesses = [lookup(f"FB-2222-3333-444{n}", REMOTE_ADDR="203.0.113.7") for n in range(3)]

    # when they try a fourth time, even with the right code
    fourth = lookup(code, REMOTE_ADDR="203.0.113.7")
    # (another address is counted on its own)
    elsewhere = lookup(code, REMOTE_ADDR="198.51.100.20")

    # then the fourth is 429 with Retry-After and nothing of the ticket
    assert [g.status_code for g in guesses] == [404, 404, 404]
    assert fourth.status_code == 429
    assert 1 <= int(fourth["Retry-After"]) <= 60
    assert "status" not in fourth.json()
    assert elsewhere.status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_count(
    org, feedback_closure, three_per_minute
):
    answers = [
        lookup("FB-2222-3333-4444", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
        for n in range(4)
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 429]


def test_a_wrong_code_answers_the_same_404_whatever_it_looks_like(org, feedback_closure):
    # Given a real code and codes that are wrong in different ways
    code = submit_anonymously(org)
    last = code[-1]
    one_off = code[:-1] + ("2" if last != "2" else "3")
    wrong = ["FB-2222-3333-4444", one_off, one_off.lower(), "x", "FB-", "  FB-0000-0000-0000  "]

    answers = [lookup(w) for w in wrong]

    # then every one is 404 with the very same body
    assert {a.status_code for a in answers} == {404}
    assert {a.content for a in answers} == {b'{"detail":"no feedback with this receipt code"}'}
