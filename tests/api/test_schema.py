"""The committed OpenAPI schema is the contract: it must match the code."""

from pathlib import Path

from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"


def test_committed_schema_matches_the_code(tmp_path):
    generated = tmp_path / "openapi.yaml"

    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")

    assert generated.read_text() == COMMITTED.read_text(), (
        "api/openapi.yaml is stale: run `make schema` and commit it"
    )


def test_swagger_ui_is_served_from_our_own_static_files(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"drf_spectacular_sidecar/swagger-ui-dist" in response.content
