"""Lists of tasks and instances read neither the workflow state nor the version's files
(a 1,000-item multi-instance instance is ~450 KB of state), and their statements do not grow
with the number of rows (a deferred column read per row would add one each)."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import bundle_files
from workflows import services

pytestmark = pytest.mark.django_db

HEAVY_COLUMNS = ('"state"', '"bpmn_files"', '"dmn_files"', '"forms"', '"summary"')


def _start(client, count):
    for _ in range(count):
        started = client.post("/api/v1/instances/start", {"process": "simple_task"}, format="json")
        assert started.status_code == 201, started.json()


def _read(get, url):
    with CaptureQueriesContext(connection) as captured:
        response = get(url)
    assert response.status_code == 200, url
    sqls = [q["sql"] for q in captured.captured_queries]
    return response, sqls


LISTS = [
    ("api", "/api/v1/tasks"),
    ("api", "/api/v1/instances"),
    ("web", "/"),
    ("web", "/tasks/"),
    ("web", "/instances/"),
]


@pytest.mark.parametrize(("kind", "url"), LISTS)
def test_a_list_reads_no_state_and_no_version_files(org, kind, url):
    services.version_deploy(files=bundle_files("simple_task"))
    api = APIClient()
    _, token = AuthToken.objects.create(user=org.nurse.user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    web = Client()
    web.force_login(org.nurse.user)
    get = api.get if kind == "api" else web.get

    _start(api, 2)
    response, few = _read(get, url)
    if kind == "api":
        assert response.json()["count"] == 2
    heavy = [sql for sql in few if any(column in sql for column in HEAVY_COLUMNS)]
    assert heavy == [], heavy

    _start(api, 5)
    response, more = _read(get, url)
    if kind == "api":
        assert response.json()["count"] == 7
    assert len(more) == len(few), (few, more)
