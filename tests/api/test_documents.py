"""Documents that form file fields refer to: POST /api/v1/documents/ and
GET /api/v1/documents/{id}/ (who may read one)."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import client_for
from tests.conftest import bundle_files
from workflows import services
from workflows.models import Document

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def post_file(user, content: bytes, name: str = "scan.png", **extra):
    return client_for(user).post(
        "/api/v1/documents/",
        {"file": SimpleUploadedFile(name, content), **extra},
        format="multipart",
    )


def test_an_upload_answers_its_id_type_size_and_hash(org):
    response = post_file(org.nurse.user, PNG, "licence.png")

    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("name", "content_type", "size", "sha256")} == {
        "name": "licence.png",
        "content_type": "image/png",
        "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest(),
    }
    stored = Document.objects.get(pk=body["id"])
    assert (stored.uploaded_by, stored.file.read()) == (org.nurse.user, PNG)
    assert stored.file.name == f"documents/{stored.created_at:%Y/%m}/{stored.pk}"


def test_the_type_is_decided_by_the_bytes_not_the_name(org):
    response = post_file(org.nurse.user, b"MZ\x90\x00 not a pdf", "licence.pdf")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "file", "message": "must be one of: application/pdf, image/png, image/jpeg"}
    ]
    assert not Document.objects.exists()


def test_a_file_over_the_size_limit_is_refused(org, settings):
    settings.CAREFLOW = {**settings.CAREFLOW, "DOCUMENT_MAX_BYTES": 20}

    response = post_file(org.nurse.user, PDF + b"x" * 20, "big.pdf")

    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "file", "message": "larger than 20 bytes"}]


def test_missing_file_and_unknown_fields_are_named(org):
    missing = client_for(org.nurse.user).post("/api/v1/documents/", {}, format="multipart")
    unknown = post_file(org.nurse.user, PNG, note="hello")

    assert missing.status_code == 400
    assert missing.json()["errors"] == [{"field": "file", "message": "upload exactly one file"}]
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [{"field": "note", "message": "unknown field"}]


def test_the_uploader_reads_it_back_and_nobody_else_until_a_process_refers_to_it(org):
    document_id = post_file(org.nurse.user, PDF, "cert.pdf").json()["id"]

    mine = client_for(org.nurse.user).get(f"/api/v1/documents/{document_id}/")
    theirs = client_for(org.east_hr.user).get(f"/api/v1/documents/{document_id}/")

    assert mine.status_code == 200
    assert b"".join(mine.streaming_content) == PDF
    assert mine["Content-Type"] == "application/pdf"
    assert 'filename="cert.pdf"' in mine["Content-Disposition"]
    assert theirs.status_code == 404


def test_people_who_see_the_instance_read_the_documents_its_forms_refer_to(org):
    services.version_deploy(files=bundle_files("document_upload"))
    document_id = post_file(org.nurse.user, PDF, "cert.pdf").json()["id"]
    started = client_for(org.nurse.user).post(
        "/api/v1/instances/start",
        {"process": "document_upload", "data": {"evidence": document_id}},
        format="json",
    )
    assert started.status_code == 201, started.content

    same_clinic_hr = client_for(org.east_hr.user).get(f"/api/v1/documents/{document_id}/")
    other_clinic_hr = client_for(org.west_hr.user).get(f"/api/v1/documents/{document_id}/")

    assert same_clinic_hr.status_code == 200
    assert b"".join(same_clinic_hr.streaming_content) == PDF
    assert other_clinic_hr.status_code == 404


def test_a_start_form_refuses_a_document_of_the_wrong_type_for_the_field(org):
    services.version_deploy(files=bundle_files("document_upload"))
    png_id = post_file(org.nurse.user, PNG).json()["id"]

    response = client_for(org.nurse.user).post(
        "/api/v1/instances/start",
        {"process": "document_upload", "data": {"evidence": png_id}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "evidence", "message": "file type must be one of: application/pdf"}
    ]
