"""Uploaded documents that forms refer to by id.

A JSON-Schema form declares a file field as

    {"type": "string", "format": "uuid", "title": "...",
     "x-upload": {"accept": ["application/pdf", "image/png", "image/jpeg"], "max_bytes": 5242880}}

The browser first uploads the file (`POST /api/v1/documents/`, `document_store`) and puts the
returned id in the form. When the form is submitted, `form_documents_check` makes sure every
id names a document the submitting user uploaded, of a type and size the field accepts; the
documents are then linked to the process instance, so everyone who may see the instance may
read them (`workflows.selectors.document_visible_to`).
"""

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from workflows.exceptions import InvalidInput
from workflows.models import Document, ProcessInstance

# What a file starts with, by the content type it is stored as. The type is decided by the
# bytes, not by what the uploader's browser claims.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
UPLOAD_KEY = "x-upload"


def _sniff(head: bytes) -> str | None:
    for content_type, prefixes in SIGNATURES.items():
        if any(head.startswith(p) for p in prefixes):
            return content_type
    return None


def document_store(*, upload: UploadedFile, user: AbstractBaseUser) -> Document:
    """Store an uploaded PDF, PNG or JPEG (at most CAREFLOW["DOCUMENT_MAX_BYTES"]) under
    MEDIA_ROOT; 400 naming the field `file` otherwise."""
    allowed = settings.CAREFLOW["DOCUMENT_CONTENT_TYPES"]
    max_bytes = settings.CAREFLOW["DOCUMENT_MAX_BYTES"]
    if upload.size > max_bytes:
        raise InvalidInput([{"field": "file", "message": f"larger than {max_bytes} bytes"}])
    if upload.size == 0:
        raise InvalidInput([{"field": "file", "message": "the file is empty"}])
    upload.seek(0)
    content_type = _sniff(upload.read(16))
    if content_type is None or content_type not in allowed:
        raise InvalidInput(
            [{"field": "file", "message": "must be one of: " + ", ".join(allowed)}],
            "file type not accepted",
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = (upload.name or "document").replace("/", "_").replace("\\", "_")[-255:]
    with transaction.atomic():
        document = Document(
            name=name,
            content_type=content_type,
            size=upload.size,
            sha256=digest.hexdigest(),
            uploaded_by=user,
        )
        document.file.save(str(document.pk), upload, save=False)
        document.save()
    return document


def _upload_fields(schema: Any, data: Any, path: str = "") -> Iterator[tuple[str, Any, dict]]:
    """(field path, submitted value, x-upload rules) of every file field present in `data`."""
    if not isinstance(schema, dict):
        return
    if UPLOAD_KEY in schema:
        yield path, data, schema[UPLOAD_KEY] or {}
        return
    if isinstance(data, dict):
        for name, sub in (schema.get("properties") or {}).items():
            if name in data:
                yield from _upload_fields(sub, data[name], f"{path}/{name}" if path else name)
    if isinstance(data, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(data):
            yield from _upload_fields(schema["items"], item, f"{path}/{index}")


def form_documents_check(
    schema: dict[str, Any] | None, data: dict[str, Any], user: AbstractBaseUser | None
) -> list[Document]:
    """The documents the form data refers to; InvalidInput naming the field when an id is
    unknown, was uploaded by someone else, or its type or size is not what the field takes."""
    errors, found = [], []
    for field, value, rules in _upload_fields(schema or {}, data):
        try:
            document_id = uuid.UUID(str(value))
        except ValueError:
            errors.append({"field": field, "message": "not a document id"})
            continue
        document = Document.objects.filter(pk=document_id).first()
        if document is None or document.uploaded_by_id != getattr(user, "pk", None):
            errors.append({"field": field, "message": "no document you uploaded has this id"})
            continue
        accept = rules.get("accept")
        if accept and document.content_type not in accept:
            errors.append(
                {"field": field, "message": "file type must be one of: " + ", ".join(accept)}
            )
            continue
        max_bytes = rules.get("max_bytes")
        if isinstance(max_bytes, int) and document.size > max_bytes:
            errors.append({"field": field, "message": f"file is larger than {max_bytes} bytes"})
            continue
        found.append(document)
    if errors:
        raise InvalidInput(errors, "form data does not match the form")
    return found


def documents_link(documents: list[Document], instance: ProcessInstance) -> None:
    """Let the people who see `instance` read these documents."""
    for document in documents:
        document.instances.add(instance)
