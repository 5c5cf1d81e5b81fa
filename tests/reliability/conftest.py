"""A world with something to break: processes deployed, an instance with an open task, a
notification, an appraisal catalogue; and a snapshot of everything a write could change."""

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken

from hr.models import FeedbackTicket, MonthlyAppraisal
from hr.seed import performance as performance_seed
from tests.api import conftest as api_fixtures
from tests.conftest import shipped_bundle
from workflows import services
from workflows.models import (
    HumanTask,
    Incident,
    Notification,
    ProcessDefinition,
    ProcessInstance,
    ProcessVersion,
    WorkflowEvent,
)

PASSWORD = "reliability-test-password"
# The API tests' personas and deployed leave_request process, for the tests here too.
personas = api_fixtures.personas
leave_request = api_fixtures.leave_request


@dataclass
class World:
    instance: ProcessInstance
    task: HumanTask


def catalogue_add() -> None:
    """What the feedback and appraisal endpoints need on top of the world (slow: only for
    the tests that go that far)."""
    services.version_deploy(files=shipped_bundle("feedback_closure.bpmn"))
    performance_seed.seed()


@pytest.fixture
def world(org, personas, leave_request) -> World:
    instance = services.instance_start(
        process_key="leave_request",
        started_by=org.nurse.user,
        subject=org.nurse,
        data={"leave_type": "annual", "days": 2},
    )
    return World(instance=instance, task=instance.tasks.get())


def snapshot() -> dict:
    """Every row a write endpoint could add or change, in a comparable form."""
    return {
        "users": get_user_model().objects.count(),
        "tokens": AuthToken.objects.count(),
        "definitions": ProcessDefinition.objects.count(),
        "versions": ProcessVersion.objects.count(),
        "instances": list(
            ProcessInstance.objects.order_by("pk").values_list("pk", "status", "business_key")
        ),
        "tasks": list(HumanTask.objects.order_by("pk").values_list("pk", "status", "assignee_id")),
        "events": WorkflowEvent.objects.count(),
        "incidents": list(Incident.objects.values_list("pk", "status")),
        "notifications": list(Notification.objects.values_list("pk", "read_at")),
        "feedback": FeedbackTicket.objects.count(),
        "appraisals": MonthlyAppraisal.objects.count(),
    }
