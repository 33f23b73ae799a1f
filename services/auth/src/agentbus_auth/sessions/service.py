"""Sessions and refresh-token families: start, rotate, detect reuse, revoke, list.

One session is one family of refresh tokens. Every refresh consumes the
presented token atomically and issues its successor; presenting a consumed
token again means two parties hold it (one of them a thief), so the whole
family — the session — is revoked, and ``session.revoked`` tells the gateway
to refuse the session's access tokens at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import new_token, token_hash
from agentbus_auth.errors import InvalidRefreshToken, RefreshTokenReused, SessionNotFound
from agentbus_auth.events import emit
from agentbus_auth.sessions import repository as repo
from agentbus_auth.sessions.tokens import AccessTokens, IssuedToken
from agentbus_auth.tenants.membership import active_membership, refuse_suspended
from agentbus_auth.tenants.repository import Member
from agentbus_auth.tenants.roles import granted_scopes
from agentbus_shared.contracts.auth import RevokeReason, SessionRevoked, SessionView, TokenPair
from agentbus_shared.contracts.common import Page, PageQuery, RequestMeta
from agentbus_shared.db import Database
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger
from agentbus_shared.pagination import cut_page, decode_cursor

log = get_logger(__name__)


REVOCATION_LEEWAY = timedelta(seconds=60)


def revocation_expiry(now: datetime, access_token_ttl: int) -> datetime:
    """Until when a revocation must be remembered: every token issued up to ``now`` (even by a
    refresh racing the revocation) has expired by then, with the verifiers' clock leeway."""
    return now + timedelta(seconds=access_token_ttl) + REVOCATION_LEEWAY


async def announce_revoked(
    session: AsyncSession,
    *,
    session_id: str,
    user_id: str,
    tenant_id: str,
    reason: RevokeReason,
    access_token_ttl: int,
) -> None:
    """``session.revoked`` in the caller's transaction: the gateway refuses the session's access
    tokens at once, until the last of them has expired."""
    now = datetime.now(UTC)
    await emit(
        session,
        SessionRevoked(
            session_id=session_id,
            user_id=user_id,
            tenant_id=tenant_id,
            reason=reason,
            revoked_at=now,
            expires_at=revocation_expiry(now, access_token_ttl),
        ),
        tenant_id=tenant_id,
    )


@dataclass(frozen=True)
class SessionTimings:
    refresh_token_ttl: int
    session_max_age: int


class SessionService:
    def __init__(
        self,
        db: Database,
        tokens: AccessTokens,
        timings: SessionTimings,
    ) -> None:
        self._db = db
        self._tokens = tokens
        self._timings = timings

    # ---------------------------------------------------------------- issuing
    async def start(
        self, session: AsyncSession, member: Member, meta: RequestMeta, *, mfa: bool = False
    ) -> TokenPair:
        """Open a session for ``member`` in the caller's transaction; its first token pair."""
        now = datetime.now(UTC)
        session_id = new_id("ses")
        expires_at = now + timedelta(seconds=self._timings.session_max_age)
        access = self._access_token(member, session_id)
        await repo.add_session(
            session,
            session_id=session_id,
            user_id=member.user_id,
            tenant_id=member.tenant_id,
            expires_at=expires_at,
            access_expires_at=datetime.fromtimestamp(access.expires_at, UTC),
            mfa=mfa,
            ip=meta.client_ip,
            user_agent=meta.user_agent,
        )
        refresh = await self._new_refresh_token(session, session_id, expires_at)
        return TokenPair(
            access_token=access.token, refresh_token=refresh, expires_in=self._tokens.ttl
        )

    def _access_token(self, member: Member, session_id: str) -> IssuedToken:
        """The member's access token; ``TenantSuspended`` while its tenant is not active (the
        caller's transaction then rolls back: no session opened, no refresh token spent)."""
        refuse_suspended(member)
        scopes = granted_scopes(member.role, platform_operator=member.platform_operator)
        return self._tokens.issue(
            subject=member.user_id,
            tenant_id=member.tenant_id,
            session_id=session_id,
            scopes=scopes,
            roles=[member.role.value],
        )

    async def _new_refresh_token(
        self, session: AsyncSession, session_id: str, session_expires_at: datetime
    ) -> str:
        token = new_token("rt")
        idle_expiry = datetime.now(UTC) + timedelta(seconds=self._timings.refresh_token_ttl)
        await repo.add_refresh_token(
            session,
            token_hash=token_hash(token),
            session_id=session_id,
            expires_at=min(idle_expiry, session_expires_at),
        )
        return token

    # ---------------------------------------------------------------- rotation
    async def refresh(self, refresh_token: str, meta: RequestMeta) -> TokenPair:
        """Rotate a refresh token; a reused one revokes its family and answers 401."""
        presented = token_hash(refresh_token)
        async with self._db.transaction() as session:
            claimed = await repo.claim_refresh_token(session, presented)
            if claimed is not None:
                member = await active_membership(session, claimed.tenant_id, claimed.user_id)
                if member is not None:
                    access = self._access_token(member, claimed.id)
                    await repo.touch(
                        session,
                        claimed.id,
                        access_expires_at=datetime.fromtimestamp(access.expires_at, UTC),
                    )
                    refresh = await self._new_refresh_token(session, claimed.id, claimed.expires_at)
                    return TokenPair(
                        access_token=access.token,
                        refresh_token=refresh,
                        expires_in=self._tokens.ttl,
                    )
                await self.revoke(session, reason="membership_ended", session_ids=[claimed.id])
                reused = False
            else:
                family = await repo.session_of_consumed_token(session, presented)
                reused = family is not None
                if family is not None:
                    revoked = await self.revoke(
                        session, reason="refresh_token_reused", session_ids=[family], meta=meta
                    )
                    for r in revoked:
                        await record(
                            session,
                            AuditKind.REFRESH_REUSE_DETECTED,
                            user_id=r.user_id,
                            tenant_id=r.tenant_id,
                            meta=meta,
                            session_id=r.id,
                        )
                    log.warning("refresh.reuse_detected", session_id=family)
        if reused:
            raise RefreshTokenReused()
        raise InvalidRefreshToken()

    # ---------------------------------------------------------------- revocation
    async def revoke(
        self,
        session: AsyncSession,
        *,
        reason: RevokeReason,
        session_ids: list[str] | None = None,
        user_id: str | None = None,
        tenant_id: str | None = None,
        keep: str | None = None,
        meta: RequestMeta | None = None,
        actor_id: str | None = None,
    ) -> list[repo.Revoked]:
        """Revoke the matching live sessions and announce each (``session.revoked``)."""
        revoked = await repo.revoke(
            session,
            reason=reason,
            session_ids=session_ids,
            user_id=user_id,
            tenant_id=tenant_id,
            keep=keep,
        )
        for r in revoked:
            await announce_revoked(
                session,
                session_id=r.id,
                user_id=r.user_id,
                tenant_id=r.tenant_id,
                reason=reason,
                access_token_ttl=self._tokens.ttl,
            )
            await record(
                session,
                AuditKind.SESSION_REVOKED,
                user_id=r.user_id,
                tenant_id=r.tenant_id,
                actor_id=actor_id,
                meta=meta,
                session_id=r.id,
                reason=reason,
            )
        return revoked

    async def logout(self, user_id: str, session_id: str | None, meta: RequestMeta) -> None:
        if session_id is None:
            return
        async with self._db.transaction() as session:
            await self.revoke(
                session, reason="logout", session_ids=[session_id], user_id=user_id, meta=meta
            )

    async def logout_everywhere(self, user_id: str, meta: RequestMeta) -> None:
        async with self._db.transaction() as session:
            await self.revoke(session, reason="logout_all", user_id=user_id, meta=meta)

    async def revoke_one(self, user_id: str, session_id: str, meta: RequestMeta) -> None:
        """Revoke one of the user's own sessions (404 for anyone else's)."""
        async with self._db.transaction() as session:
            revoked = await self.revoke(
                session,
                reason="revoked_by_user",
                session_ids=[session_id],
                user_id=user_id,
                meta=meta,
            )
        if not revoked:
            raise SessionNotFound()

    # ---------------------------------------------------------------- listing
    async def list(self, user_id: str, current: str | None, page: PageQuery) -> Page[SessionView]:
        (before,) = decode_cursor(page.cursor, str) if page.cursor else (None,)
        async with self._db.session() as session:
            rows = await repo.live_sessions(session, user_id, limit=page.limit + 1, before=before)
        live, next_cursor = cut_page(rows, page.limit, lambda r: (r.id,))
        items = [
            SessionView(
                id=r.id,
                created_at=r.created_at,
                last_used_at=r.last_used_at,
                expires_at=r.expires_at,
                ip=r.ip,
                user_agent=r.user_agent,
                current=r.id == current,
            )
            for r in live
        ]
        return Page[SessionView](items=items, next_cursor=next_cursor)
