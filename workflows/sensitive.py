"""Sensitive form fields in process data: sealed when submitted, revealed per reader.

A form marks a top-level property `"x-sensitive": true` (e.g. the reason of a leave
request, which may be medical). Once the submitted data passed the form's validation, the
value of such a property is replaced by an envelope `{"x-sensitive": "<token>"}` (AES-256-GCM,
hr/crypto.py). The envelope is what the engine carries in task data, what the instance row
stores and what history events record (their hash chain covers the envelope), so the value
is never in clear in the database, an event payload, a script's reach or an error message.
Interfaces reveal it only to readers allowed to see the subject's private data and mask it
for everyone else (api/sensitive.py).

CareFlow's own code seals values of encrypted fields it puts into process data the same way
(`seal_value`; e.g. a child's name from `FamilyMember.name` for the birthday greeting), so no
plaintext of an encrypted column reaches instance state or the hash-chained history. Such an
envelope may name extra readers (`"x-readers": "task-workers"`): the people who may work the
open task whose data holds it also see it on that task, and nowhere else.
"""

import json
import logging
from typing import Any

from hr import crypto
from workflows.exceptions import InvalidInput

ENVELOPE_KEY = "x-sensitive"
READERS_KEY = "x-readers"
TASK_WORKERS = "task-workers"
PURPOSE = "workflows.sensitive-form-field"
MASK = "***"
logger = logging.getLogger(__name__)


def sensitive_fields(schema: dict[str, Any] | None) -> set[str]:
    """Names of the top-level properties the form marks as sensitive."""
    properties = (schema or {}).get("properties") or {}
    return {
        name
        for name, spec in properties.items()
        if isinstance(spec, dict) and spec.get(ENVELOPE_KEY) is True
    }


def is_envelope(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and ENVELOPE_KEY in value
        and set(value) <= {ENVELOPE_KEY, READERS_KEY}
        and value.get(READERS_KEY, TASK_WORKERS) == TASK_WORKERS
        and crypto.is_token(value[ENVELOPE_KEY])
    )


def seal_value(value: Any, *, for_task_workers: bool = False) -> dict[str, Any]:
    """An envelope of `value`, for server code that puts a value of an encrypted field into
    process data; `for_task_workers`: the people who may work a task holding it see it too."""
    envelope = {
        ENVELOPE_KEY: crypto.encrypt(json.dumps(value, ensure_ascii=False), purpose=PURPOSE)
    }
    if for_task_workers:
        envelope[READERS_KEY] = TASK_WORKERS
    return envelope


def _refuse_envelopes(value: Any, path: str) -> None:
    # Only the server seals: a submitted envelope (a token copied from elsewhere) would
    # otherwise be decrypted for whoever may read this instance.
    if is_envelope(value) or (isinstance(value, dict) and ENVELOPE_KEY in value):
        raise InvalidInput([{"field": path or "data", "message": "must not be an envelope"}])
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_envelopes(item, f"{path}/{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_envelopes(item, f"{path}/{index}")


def seal(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """A copy of validated form `data` with the sensitive fields' values in envelopes.

    Submitted data may not hold envelopes of its own (InvalidInput)."""
    _refuse_envelopes(data, "")
    names = sensitive_fields(schema) & set(data)
    if not names:
        return data
    sealed = dict(data)
    for name in names:
        if data[name] is not None:
            plain = json.dumps(data[name], ensure_ascii=False)
            sealed[name] = {ENVELOPE_KEY: crypto.encrypt(plain, purpose=PURPOSE)}
    return sealed


def reveal(value: Any, *, may_read: bool, works_task: bool = False) -> tuple[Any, set[str]]:
    """`value` with each envelope replaced by its plaintext (`may_read`, or `works_task` for
    envelopes sealed for the task's workers) or a mask, and the names of the fields where
    envelopes were found."""
    found: set[str] = set()

    def walk(item: Any, name: str) -> Any:
        if is_envelope(item):
            found.add(name)
            if not (may_read or (works_task and item.get(READERS_KEY) == TASK_WORKERS)):
                return MASK
            try:
                return json.loads(crypto.decrypt(item[ENVELOPE_KEY], purpose=PURPOSE))
            except crypto.DecryptionFailed as error:
                # Sealed under a key no longer listed (history keeps its envelopes when keys
                # rotate): masked for everyone, never a server error. No plaintext in `error`.
                logger.warning("sealed field %r not readable: %s", name, error)
                return MASK
        if isinstance(item, dict):
            return {k: walk(v, str(k)) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, name) for v in item]
        return item

    return walk(value, ""), found


def task_worker_fields(value: Any) -> set[str]:
    """Names of the fields holding envelopes sealed for the task's workers."""
    found: set[str] = set()

    def walk(item: Any, name: str) -> None:
        if is_envelope(item):
            if item.get(READERS_KEY) == TASK_WORKERS:
                found.add(name)
        elif isinstance(item, dict):
            for key, inner in item.items():
                walk(inner, str(key))
        elif isinstance(item, list):
            for inner in item:
                walk(inner, name)

    walk(value, "")
    return found


def rotate(value: Any) -> tuple[Any, int]:
    """`value` with every envelope not under the current key re-encrypted, and how many."""
    count = 0

    def walk(item: Any) -> Any:
        nonlocal count
        if is_envelope(item):
            token = item[ENVELOPE_KEY]
            if not crypto.needs_rotation(token):
                return item
            count += 1
            plain = crypto.decrypt(token, purpose=PURPOSE)
            return {**item, ENVELOPE_KEY: crypto.encrypt(plain, purpose=PURPOSE)}
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value), count
