"""The inbox is a plain query over HumanTask rows: no workflow is deserialised."""

import pytest

from tests.conftest import bundle_files
from tests.factories import RoleAssignmentFactory
from workflows import engine as engine_module
from workflows import selectors, services
from workflows.models import HumanTask

pytestmark = pytest.mark.django_db


def start_simple(org, subject, n=1):
    return [
        services.instance_start(process_key="simple_task", started_by=subject.user, subject=subject)
        for _ in range(n)
    ]


@pytest.fixture
def deployed(org):
    services.version_deploy(files=bundle_files("simple_task"))


def test_inbox_lists_my_tasks_and_not_others(org, deployed):
    mine = start_simple(org, org.nurse, 3)
    start_simple(org, org.west_nurse, 2)

    tasks = list(selectors.inbox(org.nurse.user))

    assert [t.instance_id for t in tasks] == [i.pk for i in mine]
    assert {t.element_id for t in tasks} == {"do_the_work"}


def test_inbox_reads_only_task_and_role_rows(org, deployed, django_assert_num_queries, monkeypatch):
    start_simple(org, org.nurse, 5)
    RoleAssignmentFactory(user=org.nurse.user, role="clinic_hr", org_unit=org.east)

    def no_deserialising(*args, **kwargs):
        raise AssertionError("the inbox must not load a workflow")

    monkeypatch.setattr(engine_module.engine, "load", no_deserialising)
    with django_assert_num_queries(2) as captured:
        tasks = list(selectors.inbox(org.nurse.user))

    assert len(tasks) == 5
    tables = [q["sql"] for q in captured.captured_queries]
    assert "hr_roleassignment" in tables[0]
    assert "workflows_humantask" in tables[1]
    # The instances are not read: only a subquery picks those about the user (whose
    # judging tasks the inbox leaves out), no instance column (state) is selected.
    assert 'JOIN "workflows_processinstance"' not in tables[1]
    assert '"workflows_processinstance"."state"' not in tables[1]
    assert tables[1].startswith('SELECT "workflows_humantask"."id"')
    assert 'FROM "workflows_humantask"' in tables[1].split(" WHERE ")[0]


def test_inbox_query_count_does_not_grow_with_tasks(org, deployed, django_assert_num_queries):
    start_simple(org, org.nurse, 20)

    with django_assert_num_queries(2):
        tasks = list(selectors.inbox(org.nurse.user))

    assert len(tasks) == 20


def test_role_tasks_reach_role_holders_of_that_unit_only(org, deployed):
    instance = start_simple(org, org.nurse)[0]
    task = instance.tasks.get()
    HumanTask.objects.filter(pk=task.pk).update(
        candidate_user=None, candidate_role="clinic_hr", candidate_org_unit=org.east
    )

    east = list(selectors.inbox(org.east_hr.user))
    west = list(selectors.inbox(org.west_hr.user))

    assert [t.pk for t in east] == [task.pk]
    assert west == []


def test_claimed_task_leaves_other_candidates_inboxes(org, deployed):
    instance = start_simple(org, org.nurse)[0]
    task = instance.tasks.get()
    HumanTask.objects.filter(pk=task.pk).update(
        candidate_user=None, candidate_role="clinic_hr", candidate_org_unit=org.east
    )
    colleague = RoleAssignmentFactory(role="clinic_hr", org_unit=org.east).user

    services.task_claim(human_task_id=task.pk, user=org.east_hr.user)

    assert [t.pk for t in selectors.inbox(org.east_hr.user)] == [task.pk]
    assert list(selectors.inbox(colleague)) == []
