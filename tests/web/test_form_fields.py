"""Form fields beyond the shipped forms: file fields, and rules only the server checks.

File fields follow the upload convention; the upload itself (`POST /api/v1/documents/`) is
built on another branch, so the test covers what the page decides alone: nothing is sent when
the file breaks the form's rule."""

import json

import pytest
from playwright.sync_api import expect

from tests.conftest import bundle_files
from tests.web.conftest import sign_in, user
from workflows import services

UPLOAD_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Upload a certificate 上传证书",
    "type": "object",
    "properties": {
        "certificate": {
            "title": "Certificate 证书",
            "type": "string",
            "format": "uuid",
            "x-upload": {"accept": ["application/pdf", "image/png"], "max_bytes": 100},
        }
    },
    "required": ["certificate"],
    "additionalProperties": False,
}


def task_with_form(form: dict):
    """The simple_task fixture process with `form` as its task's form, started for a nurse."""
    files = {**bundle_files("simple_task"), "simple_form.json": json.dumps(form).encode()}
    services.version_deploy(files=files)
    nurse = user("east_nurse")
    instance = services.instance_start(
        process_key="simple_task", started_by=nurse, subject=nurse.employee
    )
    return instance.tasks.get()


@pytest.fixture
def upload_task(demo):
    return task_with_form(UPLOAD_FORM)


def test_file_field_checks_type_and_size_before_uploading(upload_task, new_page):
    page = new_page()
    uploads = []
    page.on("request", lambda r: "/api/v1/documents/" in r.url and uploads.append(r.url))
    sign_in(page, "east_nurse")
    page.goto(f"/tasks/{upload_task.pk}/")
    field = page.locator(".field[data-field='certificate']")
    expect(field.locator("input[type=file]")).to_have_attribute(
        "accept", "application/pdf,image/png"
    )

    page.get_by_role("button", name="Complete task").click()
    expect(field.locator(".field-error")).to_have_text("This field is required.")

    field.locator("input[type=file]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}
    )
    expect(field.locator(".field-error")).to_have_text(
        "Allowed file types: application/pdf, image/png."
    )
    field.locator("input[type=file]").set_input_files(
        {"name": "scan.png", "mimeType": "image/png", "buffer": b"\x89PNG" + b"0" * 200}
    )
    expect(field.locator(".field-error")).to_have_text("The file is larger than 100 bytes.")
    assert uploads == []
    upload_task.refresh_from_db()
    assert upload_task.is_open


def test_server_errors_show_next_to_their_field(demo, new_page):
    # "not" is a rule the page does not check itself: the server's 400 names the field.
    task = task_with_form(
        {
            "type": "object",
            "properties": {
                "note": {"title": "Note 备注", "type": "string", "not": {"const": "n/a"}}
            },
            "required": ["note"],
            "additionalProperties": False,
        }
    )
    page = new_page()
    sign_in(page, "east_nurse")
    page.goto(f"/tasks/{task.pk}/")
    page.get_by_label("Note").fill("n/a")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator(".field[data-field='note'] .field-error")).to_contain_text("n/a")
    expect(page.locator(".field[data-field='note']")).to_have_class("field invalid")
    task.refresh_from_db()
    assert task.is_open
    page.get_by_label("Note").fill("done")
    page.get_by_role("button", name="Complete task").click()
    expect(page.locator("#completed-notice")).to_be_visible()
