"""AES-256-GCM for personal data at rest: a key ring from the settings, tokens that name
their key, so keys rotate without a flag day.

A token is ``enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>``. The associated data
binds a token to its purpose (e.g. ``hr.employee.phone``): a value copied into another
column or another kind of envelope does not decrypt. Plaintext never appears in an
exception raised here, only key ids and purposes.
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "enc:v1:"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DecryptionFailed(Exception):
    """A token could not be decrypted (unknown key, wrong purpose or tampered)."""


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; the first one is current and encrypts, every one decrypts."""

    current_id: str
    keys: dict[str, bytes]


def parse_key_ring(spec: str) -> KeyRing:
    """Parse ``"k2:<base64 of 32 bytes>,k1:<...>"`` (the first key is the current one)."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                "CAREFLOW_FIELD_KEYS: each entry is '<key id>:<base64 key>' "
                "(key id: letters, digits, '-' or '_')"
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(
                f"CAREFLOW_FIELD_KEYS: key {key_id!r} is not valid base64"
            ) from None
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(
                f"CAREFLOW_FIELD_KEYS: key {key_id!r} must be {KEY_BYTES} bytes (AES-256)"
            )
        if key_id in keys:
            raise ImproperlyConfigured(f"CAREFLOW_FIELD_KEYS: key id {key_id!r} appears twice")
        keys[key_id] = key
        order.append(key_id)
    if not order:
        raise ImproperlyConfigured("CAREFLOW_FIELD_KEYS names no key")
    return KeyRing(order[0], keys)


def encrypts_with(spec: str, key_spec: str) -> bool:
    """Is the current (first) key of ring `spec` the key of `key_spec`, under any id?

    Production refuses the public development key as the current key but accepts it after
    the current one, decrypting only, so data written under it can be rotated away."""
    ring, other = parse_key_ring(spec), parse_key_ring(key_spec)
    return ring.keys[ring.current_id] == other.keys[other.current_id]


@lru_cache(maxsize=8)
def _ring_for(spec: str) -> KeyRing:
    return parse_key_ring(spec)


def key_ring() -> KeyRing:
    """The key ring of the current settings (parsed once per distinct setting)."""
    return _ring_for(settings.CAREFLOW_FIELD_KEYS)


def is_token(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def token_key_id(token: str) -> str:
    """The id of the key that encrypted `token`."""
    return token[len(PREFIX) :].split(":", 1)[0]


def encrypt(plaintext: str, *, purpose: str) -> str:
    """A token for `plaintext` under the current key."""
    ring = key_ring()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.keys[ring.current_id]).encrypt(
        nonce, plaintext.encode("utf-8"), purpose.encode("utf-8")
    )
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{PREFIX}{ring.current_id}:{body}"


def decrypt(token: str, *, purpose: str) -> str:
    """The plaintext of `token`, or DecryptionFailed (never showing the token's content)."""
    if not is_token(token):
        raise DecryptionFailed(f"not an encrypted value ({purpose})")
    key_id, _, body = token[len(PREFIX) :].partition(":")
    key = key_ring().keys.get(key_id)
    if key is None:
        raise DecryptionFailed(f"no key {key_id!r} in CAREFLOW_FIELD_KEYS ({purpose})")
    try:
        raw = base64.urlsafe_b64decode(body.encode("ascii"))
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode())
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionFailed(f"value under key {key_id!r} does not decrypt ({purpose})") from None
    return plain.decode("utf-8")


def needs_rotation(token: str) -> bool:
    """Was `token` encrypted under a key other than the current one?"""
    return token_key_id(token) != key_ring().current_id
