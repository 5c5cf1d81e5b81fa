"""Scenario tests of the shipped processes, driven through the REST API."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from workflows import services
from workflows.bundles import collect_bundles


def api(user) -> APIClient:
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def deploy_shipped(main_file: str):
    """Deploy the shipped bundle whose top-level file is `main_file` (e.g. "onboarding.bpmn")."""
    bundles = collect_bundles(settings.CAREFLOW["BPMN_DIR"], settings.CAREFLOW["FORMS_DIR"])
    (bundle,) = [b for b in bundles if b.main_file == main_file]
    return services.version_deploy(files=bundle.files).version


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
