"""Signing keys: creation, rotation, the in-memory key ring that signs, and the published JWKS.

Life of a key: ``next`` (published, not signing) → ``active`` (signing) →
``retired`` (published until every token it signed has expired and every
cached JWKS that lacked its successor has been refreshed). Because a key is
published for a whole rotation period before it signs, a verifier already
holds it when the first token signed with it arrives; because a retired key
stays published for ``access token lifetime + JWKS cache age`` (plus the
replicas' reload interval), no outstanding token loses its key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.jwk import OKPKey
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import SecretBox
from agentbus_auth.keys import repository as repo
from agentbus_auth.keys.repository import StoredKey
from agentbus_auth.models import KeyState
from agentbus_shared.contracts.auth import ACCESS_TOKEN_TYPE, Jwks
from agentbus_shared.db import Database
from agentbus_shared.errors import Conflict, ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

ALGORITHM = "Ed25519"
_CLOCK_LEEWAY = timedelta(seconds=60)


class RotationTooSoon(Conflict):
    code = "key_rotation_too_soon"


class KeyEncryptionKeyMismatch(RuntimeError):
    """The active key was sealed under another key-encryption key than the configured one."""


@dataclass(frozen=True)
class KeyTimings:
    access_token_ttl: int
    jwks_max_age: int
    reload_interval: float

    @property
    def retired_publication(self) -> timedelta:
        return (
            timedelta(seconds=self.access_token_ttl + self.jwks_max_age + self.reload_interval)
            + _CLOCK_LEEWAY
        )


@dataclass(frozen=True)
class RotationResult:
    retired: str | None
    activated: str
    next: str
    retired_published_until: datetime | None


def _new_key() -> tuple[OKPKey, dict[str, Any]]:
    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    public = {**key.as_dict(private=False), "use": "sig", "alg": ALGORITHM}
    return key, public


async def _add_new_key(
    session: AsyncSession, box: SecretBox, *, state: KeyState, now: datetime
) -> str:
    key, public = _new_key()
    kid = str(key.kid)
    sealed = box.seal(json.dumps(key.as_dict(private=True)).encode(), bound_to=kid)
    await repo.add_key(
        session,
        kid=kid,
        state=state,
        public_jwk=public,
        private_jwk_sealed=sealed,
        kek_fingerprint=box.fingerprint,
        now=now,
    )
    return kid


def published(keys: list[StoredKey], now: datetime) -> list[StoredKey]:
    """The keys a verifier must know: next, active, and retired ones still within their window."""
    return [
        k
        for k in keys
        if k.state in ("next", "active")
        or (k.state == "retired" and k.publish_until is not None and k.publish_until > now)
    ]


@dataclass
class _Ring:
    signing_kid: str
    signing_key: OKPKey
    jwks: Jwks
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class KeyRing:
    """The keys of this process: the active private key (to sign) and the published JWKS."""

    def __init__(self, db: Database, box: SecretBox, timings: KeyTimings) -> None:
        self._db = db
        self._box = box
        self.timings = timings
        self._ring: _Ring | None = None

    async def ensure(self) -> None:
        """Create the active and the next key if missing (idempotent, safe across replicas)."""
        async with self._db.transaction() as session:
            await repo.lock_keys(session)
            states = {k.state for k in await repo.all_keys(session)}
            now = datetime.now(UTC)
            if "active" not in states:
                kid = await _add_new_key(session, self._box, state="active", now=now)
                log.info("keys.created_active", kid=kid)
            if "next" not in states:
                kid = await _add_new_key(session, self._box, state="next", now=now)
                log.info("keys.created_next", kid=kid)

    async def rotate(self, *, force: bool = False, actor: str = "operator") -> RotationResult:
        """Promote next → active, retire the active key, create a new next key.

        Refuses (``RotationTooSoon``) while the next key has been published for less
        than one JWKS cache age, since verifiers may not hold it yet; ``force``
        rotates anyway (verifiers then fetch the key set on the unknown ``kid``).
        """
        async with self._db.transaction() as session:
            await repo.lock_keys(session)
            keys = await repo.all_keys(session)
            now = datetime.now(UTC)
            active = next((k for k in keys if k.state == "active"), None)
            upcoming = next((k for k in keys if k.state == "next"), None)
            if upcoming is None:
                upcoming_kid = await _add_new_key(session, self._box, state="next", now=now)
                published_for = timedelta(0)
            else:
                upcoming_kid = upcoming.kid
                published_for = now - upcoming.created_at
            if not force:
                self._refuse_too_soon(published_for)
            publish_until = None
            if active is not None:
                publish_until = now + self.timings.retired_publication
                await repo.retire(session, active.kid, now=now, publish_until=publish_until)
            await repo.activate(session, upcoming_kid, now=now)
            new_next = await _add_new_key(session, self._box, state="next", now=now)
            await record(
                session,
                AuditKind.KEY_ROTATED,
                actor_id=actor,
                retired=active.kid if active else None,
                activated=upcoming_kid,
                next=new_next,
            )
        log.info("keys.rotated", retired=active.kid if active else None, activated=upcoming_kid)
        return RotationResult(
            retired=active.kid if active else None,
            activated=upcoming_kid,
            next=new_next,
            retired_published_until=publish_until,
        )

    def _refuse_too_soon(self, published_for: timedelta) -> None:
        """``RotationTooSoon`` while verifiers may not hold the next key yet."""
        cache_age = timedelta(seconds=self.timings.jwks_max_age)
        if published_for < cache_age:
            wait = cache_age - published_for
            raise RotationTooSoon(
                f"The next key has been published for {published_for.total_seconds():.0f}s, "
                f"less than the JWKS cache age; rotate in {wait.total_seconds():.0f}s or force it.",
                retry_after=int(wait.total_seconds()) + 1,
            )

    async def load(self) -> None:
        """Read the keys from the database (the active one decrypted)."""
        keys = await self.stored()
        active = next((k for k in keys if k.state == "active"), None)
        if active is None or active.private_jwk_sealed is None:
            raise ServiceUnavailable("No active signing key; the auth service is starting.")
        if active.kek_fingerprint != self._box.fingerprint:
            raise KeyEncryptionKeyMismatch(
                f"signing key {active.kid} was sealed under key-encryption key "
                f"{active.kek_fingerprint}, not the configured {self._box.fingerprint}"
            )
        private = json.loads(self._box.open(active.private_jwk_sealed, bound_to=active.kid))
        key = OKPKey.import_key(private)
        public_keys = [k.public_jwk for k in published(keys, datetime.now(UTC))]
        changed = self._ring is None or self._ring.signing_kid != active.kid
        self._ring = _Ring(
            signing_kid=active.kid,
            signing_key=key,
            jwks=Jwks(
                keys=public_keys,
                etag=_etag(public_keys),
                max_age=self.timings.jwks_max_age,
            ),
        )
        if changed:
            log.info("keys.loaded", active=active.kid, published=len(public_keys))

    async def stored(self) -> list[StoredKey]:
        """Every signing key, oldest first, whatever its state."""
        async with self._db.session() as session:
            return await repo.all_keys(session)

    async def reload_forever(self) -> None:
        """Pick up rotations done elsewhere (another replica, the CLI) every reload interval."""
        while True:
            await asyncio.sleep(self.timings.reload_interval)
            try:
                await self.load()
            except Exception as exc:
                log.warning("keys.reload_failed", error=f"{type(exc).__name__}: {exc}")

    @property
    def _current(self) -> _Ring:
        if self._ring is None:
            raise ServiceUnavailable("The signing keys are not loaded yet.")
        return self._ring

    @property
    def active_kid(self) -> str:
        return self._current.signing_kid

    def jwks(self) -> Jwks:
        return self._current.jwks

    def sign(self, claims: dict[str, Any]) -> str:
        ring = self._current
        header = {"alg": ALGORITHM, "kid": ring.signing_kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(header, claims, ring.signing_key, algorithms=[ALGORITHM])


def _etag(keys: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256(json.dumps(keys, sort_keys=True).encode()).hexdigest()[:32]
    return f'"{digest}"'
