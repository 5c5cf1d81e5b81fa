"""Sensitive form fields in process data: sealed when submitted, revealed per reader.

A form marks a top-level property `"x-sensitive": true` (e.g. the reason of a leave
request, which may be medical). Once the submitted data passed the form's validation, the
value of such a property is replaced by an envelope `{"x-sensitive": "<token>"}` (AES-256-GCM,
hr/crypto.py). The envelope is what the engine carries in task data, what the instance row
stores and what history events record (their hash chain covers the envelope), so the value
is never in clear in the database, an event payload, a script's reach or an error message.
Interfaces reveal it only to readers allowed to see the subject's private data and mask it
for everyone else (api/sensitive.py).
"""

import json
import logging
from typing import Any

from hr import crypto
from workflows.exceptions import InvalidInput

ENVELOPE_KEY = "x-sensitive"
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
        and set(value) == {ENVELOPE_KEY}
        and crypto.is_token(value[ENVELOPE_KEY])
    )


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


def reveal(value: Any, *, may_read: bool) -> tuple[Any, set[str]]:
    """`value` with each envelope replaced by its plaintext (`may_read`) or a mask, and the
    names of the fields where envelopes were found."""
    found: set[str] = set()

    def walk(item: Any, name: str) -> Any:
        if is_envelope(item):
            found.add(name)
            if not may_read:
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
            return {ENVELOPE_KEY: crypto.encrypt(plain, purpose=PURPOSE)}
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value), count
