"""Model fields whose values are stored encrypted (AES-256-GCM, hr/crypto.py).

Drop-in replacements for CharField and TextField: Python code reads and writes plain
strings; the column holds a token naming its key. `max_length` limits the plaintext (the
column is text, since a token is longer than its value). Ciphertext has a fresh nonce on
every write, so the database cannot compare values: only `isnull` lookups are allowed,
anything else raises at query-building time instead of silently matching nothing.
"""

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from hr import crypto


class EncryptedMixin:
    """Encrypt on the way to the database, decrypt on the way back."""

    # Queries cannot look into ciphertext; keep the sole meaningful lookup.
    _allowed_lookups = frozenset({"isnull"})

    def get_internal_type(self) -> str:
        return "TextField"

    @property
    def purpose(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # A value without the token prefix was written before the column was encrypted;
        # `manage.py rotate_field_keys` encrypts it.
        if not crypto.is_token(value):
            return value
        return crypto.decrypt(value, purpose=self.purpose)

    def to_python(self, value: Any) -> Any:
        # A token from a fixture (dumpdata writes tokens) loads as its plaintext; anything
        # else, including text that merely looks like a token, is plaintext.
        if crypto.is_token(value):
            try:
                return crypto.decrypt(value, purpose=self.purpose)
            except crypto.DecryptionFailed:
                return value
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(value, purpose=self.purpose)

    def get_lookup(self, lookup_name: str):
        if lookup_name not in self._allowed_lookups:
            raise FieldError(
                f"{self.purpose} is encrypted: it cannot be filtered with '{lookup_name}'"
            )
        return super().get_lookup(lookup_name)

    def value_to_string(self, obj: Any) -> str:
        # Serialisation (dumpdata, fixtures) writes the token, not the plaintext.
        value = self.value_from_object(obj)
        return "" if value in (None, "") else self.get_prep_value(value)


class EncryptedCharField(EncryptedMixin, models.CharField):
    """A CharField stored encrypted; `max_length` bounds the plaintext."""


class EncryptedTextField(EncryptedMixin, models.TextField):
    """A TextField stored encrypted."""
