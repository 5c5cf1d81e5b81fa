"""Processes CareFlow starts itself (scans, or an endpoint of their own) cannot be started by
hand through /instances/start, and the start page does not offer them."""

import pytest

from tests.api.conftest import client_for
from tests.conftest import shipped_bundle
from workflows import selectors, services
from workflows.models import ProcessInstance

pytestmark = pytest.mark.django_db

SYSTEM_STARTED = [
    "story_review.bpmn",
    "story_monthly_award.bpmn",
    "family_birthday_greeting.bpmn",
    "licence_renewal.bpmn",
    "compliance_deduction.bpmn",
    "compliance_warning.bpmn",
    "care_gift.bpmn",
]


@pytest.mark.parametrize("main_file", SYSTEM_STARTED)
def test_a_system_started_process_is_refused_by_hand(org, main_file):
    version = services.version_deploy(files=shipped_bundle(main_file)).version
    assert version.summary["started_by_system"] is True
    key = version.definition.key

    for user in (org.nurse.user, org.east_hr.user, org.group_hr.user):
        answer = client_for(user).post(
            "/api/v1/instances/start",
            {"process": key, "subject": org.nurse.employee_no},
            format="json",
        )
        assert answer.status_code == 403, answer.content
        assert "not by hand" in answer.json()["detail"]
        assert key not in {v.definition.key for v in selectors.startable_versions(user)}
    assert not ProcessInstance.objects.filter(definition__key=key).exists()


def test_a_process_started_by_people_is_still_offered(org):
    version = services.version_deploy(files=shipped_bundle("leave_request.bpmn")).version
    assert version.summary["started_by_system"] is False
    offered = selectors.startable_versions(org.nurse.user)
    assert [v.definition.key for v in offered] == ["leave_request"]
