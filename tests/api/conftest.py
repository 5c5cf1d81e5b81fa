"""Personas for API tests, on top of the `org` fixture of tests/conftest.py."""

from dataclasses import dataclass

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from hr.models import RoleAssignment
from tests.factories import RoleAssignmentFactory, UserFactory
from workflows import services
from workflows.bundles import collect_bundles

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
    (bundle,) = collect_bundles(settings.CAREFLOW["BPMN_DIR"], settings.CAREFLOW["FORMS_DIR"])
    return services.version_deploy(files=bundle.files).version
