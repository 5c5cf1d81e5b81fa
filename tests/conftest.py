"""Shared fixtures: a small group (HQ > two clinics > departments) and its people."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from hr.models import Employee, OrgUnit, RoleAssignment
from tests.factories import EmployeeFactory, OrgUnitFactory, RoleAssignmentFactory, UserFactory
from tests.plaintext_guard import no_plaintext_in_process_data  # noqa: F401 - a fixture
from workflows.bundles import collect_bundles

FIXTURES = Path(__file__).parent / "fixtures"
BUNDLES = FIXTURES / "bundles"
Role = RoleAssignment.Role


def shipped_bundle(main_file: str) -> dict[str, bytes]:
    """The files of the shipped bundle whose top-level file is `main_file` (in bpmn/)."""
    bundles = collect_bundles(settings.CAREFLOW["BPMN_DIR"], settings.CAREFLOW["FORMS_DIR"])
    (bundle,) = [b for b in bundles if b.main_file == main_file]
    return bundle.files


def bundle_files(name: str) -> dict[str, bytes]:
    """The files of the fixture bundle folder `name`."""
    return {p.name: p.read_bytes() for p in sorted((BUNDLES / name).iterdir()) if p.is_file()}


@dataclass
class Org:
    group: OrgUnit
    east: OrgUnit
    east_nursing: OrgUnit
    west: OrgUnit
    west_nursing: OrgUnit
    head_nurse: Employee
    nurse: Employee
    east_hr: Employee
    west_hr: Employee
    group_hr: Employee
    west_nurse: Employee


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles and caches keep nothing from one test to the next."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db) -> Org:
    group = OrgUnitFactory(code="hq", kind=OrgUnit.Kind.GROUP, parent=None)
    east = OrgUnitFactory(code="east", kind=OrgUnit.Kind.CLINIC, parent=group)
    east_nursing = OrgUnitFactory(code="east-nursing", parent=east)
    west = OrgUnitFactory(code="west", kind=OrgUnit.Kind.CLINIC, parent=group)
    west_nursing = OrgUnitFactory(code="west-nursing", parent=west)
    head_nurse = EmployeeFactory(user__username="head_nurse", org_unit=east_nursing)
    nurse = EmployeeFactory(user__username="nurse", org_unit=east_nursing, manager=head_nurse)
    east_hr = EmployeeFactory(user__username="east_hr", org_unit=east)
    west_hr = EmployeeFactory(user__username="west_hr", org_unit=west)
    group_hr = EmployeeFactory(user__username="group_hr", org_unit=group)
    west_nurse = EmployeeFactory(user__username="west_nurse", org_unit=west_nursing)
    RoleAssignmentFactory(user=head_nurse.user, role=Role.SUPERVISOR, org_unit=east_nursing)
    RoleAssignmentFactory(user=east_hr.user, role=Role.CLINIC_HR, org_unit=east)
    RoleAssignmentFactory(user=west_hr.user, role=Role.CLINIC_HR, org_unit=west)
    RoleAssignmentFactory(user=group_hr.user, role=Role.GROUP_HR, org_unit=group)
    return Org(
        group,
        east,
        east_nursing,
        west,
        west_nursing,
        head_nurse,
        nurse,
        east_hr,
        west_hr,
        group_hr,
        west_nurse,
    )


@pytest.fixture
def operator_user(db):
    return UserFactory(username="operator")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL (CI does)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
