"""Secrets at rest and one-time secrets: encryption under the key-encryption key, MACs, tokens.

- :class:`SecretBox` encrypts what auth must be able to read back (signing
  keys, TOTP secrets) with AES-256-GCM under a key derived from
  ``AUTH_KEY_ENCRYPTION_KEY``; the associated data binds each ciphertext to
  its row, so a ciphertext copied to another row does not decrypt.
- :class:`CodeKey` MACs what auth only needs to recognise (one-time codes,
  recovery codes) and derives the one-time secrets that the mailer renders,
  so no secret ever travels on the bus (see docs/security/threat-model.md).
- Opaque bearer secrets (refresh tokens, challenge tokens, client secrets,
  invite tokens) carry 256 bits of entropy and are stored as SHA-256 hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


class UndecryptableSecret(Exception):
    """A ciphertext that this key-encryption key did not produce (or that was tampered with)."""


class SecretBox:
    """AES-256-GCM under a key derived from the key-encryption key."""

    def __init__(self, key_encryption_key: str) -> None:
        key = _derive(key_encryption_key, b"agentbus-auth/secret-box/v1")
        self._aead = AESGCM(key)
        self.fingerprint = hashlib.sha256(b"fingerprint" + key).hexdigest()[:16]
        """Names the key without revealing it: stored next to each ciphertext."""

    def seal(self, plaintext: bytes, *, bound_to: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], bound_to.encode())
        except InvalidTag:
            raise UndecryptableSecret(bound_to) from None


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class CodeKey:
    """HMAC-SHA256 under ``AUTH_CODE_KEY``: MACs of short codes and derived one-time secrets."""

    def __init__(self, code_key: str) -> None:
        self._mac_key = _derive(code_key, b"agentbus-auth/code-mac/v1")
        self._derive_key = _derive(code_key, b"agentbus-auth/code-derive/v1")

    def mac(self, purpose: str, value: str) -> bytes:
        """The MAC a code is stored as (``purpose`` keeps codes of different kinds apart)."""
        message = f"{purpose}\x00{normalize_code(value)}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).digest()

    def _derived(self, purpose: str, ref: str) -> bytes:
        return hmac.new(self._derive_key, f"{purpose}\x00{ref}".encode(), hashlib.sha256).digest()

    def digits(self, purpose: str, ref: str, length: int = 8) -> str:
        """The numeric one-time code of ``ref`` (a row id): computable only with the key."""
        number = int.from_bytes(self._derived(purpose, ref), "big")
        return str(number % 10**length).zfill(length)

    def token(self, purpose: str, ref: str, prefix: str) -> str:
        """A 256-bit bearer token derived from ``ref``: computable only with the key."""
        raw = base64.urlsafe_b64encode(self._derived(purpose, ref)).rstrip(b"=").decode()
        return f"{prefix}_{raw}"


def normalize_code(value: str) -> str:
    """Codes are compared without spaces, dashes and case, the way people type them."""
    return value.replace("-", "").replace(" ", "").upper()


def new_token(prefix: str) -> str:
    """A fresh opaque bearer secret: ``<prefix>_<43 chars of base64url>`` (256 bits)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> bytes:
    """How bearer secrets are stored and looked up."""
    return hashlib.sha256(token.encode()).digest()


def new_recovery_code() -> str:
    """``XXXXX-XXXXX``: 50 random bits in Crockford base32, easy to read out and type."""
    chars = "".join(secrets.choice(_CROCKFORD) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def same(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)
