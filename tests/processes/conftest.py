"""Scenario tests of the shipped processes, driven through the REST API."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import shipped_bundle
from workflows import services


def api(user) -> APIClient:
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def deploy_shipped(main_file: str):
    """Deploy the shipped bundle whose top-level file is `main_file` (e.g. "onboarding.bpmn")."""
    return services.version_deploy(files=shipped_bundle(main_file)).version


def open_tasks(client: APIClient) -> list[dict]:
    response = client.get("/api/v1/tasks")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def complete(client: APIClient, task_id: int, data: dict) -> dict:
    response = client.post(f"/api/v1/tasks/{task_id}/complete", {"data": data}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def deploy():
    return deploy_shipped


@pytest.fixture(autouse=True)
def _no_plaintext_in_process_data(no_plaintext_in_process_data):
    """Every scenario of every shipped process runs with distinctive values in the encrypted
    fields and fails if one of them reaches process data (tests/plaintext_guard.py)."""
