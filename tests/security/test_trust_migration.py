"""Migration is an operator action scoped to the instance (issue 16, item 6).

The attack, through the API as the role that tried it: the process owner moved a colleague's
running request onto a version of their own making. Only group HR, or HR of the instance's
clinic, may move an instance to another version; anyone else is refused and nothing
changes."""

import pytest

from tests.api.conftest import client_for
from tests.conftest import bundle_files
from workflows import services
from workflows.models import ProcessInstance, WorkflowEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(org):
    """The nurse's simple_task instance on version 1, with a version 2 deployed since."""
    services.version_deploy(files=bundle_files("simple_task"))
    instance = services.instance_start(
        process_key="simple_task", started_by=org.nurse.user, subject=org.nurse
    )
    services.version_deploy(files=bundle_files("simple_task_v2"))
    return instance


def migrate(user, instance: ProcessInstance):
    return client_for(user).post(
        f"/api/v1/instances/{instance.pk}/migrate", {"to_version": 2}, format="json"
    )


def version_and_migrations(instance: ProcessInstance) -> tuple[int, int]:
    instance.refresh_from_db()
    migrations = instance.events.filter(kind=WorkflowEvent.Kind.VERSION_MIGRATED).count()
    return instance.version.number, migrations


def test_the_process_owner_may_not_migrate_a_colleagues_instance(personas, waiting):
    # Given the nurse's instance on version 1 and a version 2 deployed
    # When the process owner moves it to version 2
    response = migrate(personas.process_owner, waiting)

    # Then it is refused and the instance stays on version 1
    assert response.status_code == 403
    assert version_and_migrations(waiting) == (1, 0)


@pytest.mark.parametrize("persona", ["employee", "supervisor", "auditor"])
def test_nobody_but_hr_may_migrate(personas, waiting, persona):
    response = migrate(getattr(personas, persona), waiting)

    assert response.status_code == 403
    assert version_and_migrations(waiting) == (1, 0)


def test_hr_of_another_clinic_does_not_find_the_instance(personas, waiting):
    response = migrate(personas.other_clinic_hr, waiting)

    assert response.status_code == 404
    assert version_and_migrations(waiting) == (1, 0)


def test_hr_of_another_clinic_who_started_the_instance_may_not_migrate_it(org, personas, waiting):
    # Given west's HR started the east nurse's instance (so they can see it)
    ProcessInstance.objects.filter(pk=waiting.pk).update(started_by=org.west_hr.user)

    # When they move it to version 2
    response = migrate(personas.other_clinic_hr, waiting)

    # Then the instance is outside their clinic: refused, nothing changed
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"instance {waiting.pk}: only group HR or HR of its clinic may migrate it"
    )
    assert version_and_migrations(waiting) == (1, 0)


def test_hr_of_the_instances_clinic_migrates_it(personas, waiting):
    response = migrate(personas.clinic_hr, waiting)

    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert version_and_migrations(waiting) == (2, 1)
    assert waiting.events.get(kind=WorkflowEvent.Kind.VERSION_MIGRATED).actor == personas.clinic_hr


def test_group_hr_migrates_it(personas, waiting):
    response = migrate(personas.group_hr, waiting)

    assert response.status_code == 200
    assert version_and_migrations(waiting) == (2, 1)
