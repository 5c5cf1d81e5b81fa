"""Personas for API tests, on top of the `org` fixture of tests/conftest.py."""

from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from hr.models import RoleAssignment
from tests.conftest import shipped_bundle
from tests.factories import RoleAssignmentFactory, UserFactory
from workflows import services

Role = RoleAssignment.Role


@dataclass
class Personas:
    employee: object
    supervisor: object
    other_clinic_hr: object
    clinic_hr: object
    group_hr: object
    process_owner: object
    auditor: object
    integration: object


@pytest.fixture
def personas(org) -> Personas:
    owner = UserFactory(username="owner")
    RoleAssignmentFactory(user=owner, role=Role.PROCESS_OWNER, org_unit=org.group)
    auditor = UserFactory(username="auditor")
    RoleAssignmentFactory(user=auditor, role=Role.AUDITOR, org_unit=org.group)
    integration = UserFactory(username="appraisal_system")
    RoleAssignmentFactory(user=integration, role=Role.INTEGRATION, org_unit=org.group)
    return Personas(
        employee=org.nurse.user,
        supervisor=org.head_nurse.user,
        other_clinic_hr=org.west_hr.user,
        clinic_hr=org.east_hr.user,
        group_hr=org.group_hr.user,
        process_owner=owner,
        auditor=auditor,
        integration=integration,
    )


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def leave_request(db):
    """The shipped leave_request process, deployed."""
    return services.version_deploy(files=shipped_bundle("leave_request.bpmn")).version
