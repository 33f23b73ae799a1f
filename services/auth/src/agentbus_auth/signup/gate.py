"""What registration asks before it creates an account: the signup quotas, the signup policy and,
when one is given, the platform signup invite (bound to its email, single use, expiring)."""

from __future__ import annotations

from collections.abc import Awaitable

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import token_hash
from agentbus_auth.errors import InvalidSignupInvite, SignupClosed, SignupQuotaExceeded
from agentbus_auth.signup import repository as repo
from agentbus_auth.signup.quotas import SignupAttempt, SignupQuotas, registrable_domain
from agentbus_auth.signup.repository import SignupInvite
from agentbus_auth.throttle import account_key
from agentbus_shared.contracts.auth import RegisterCommand
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.signup import SignupPolicyName
from agentbus_shared.db import Database


class SignupGate:
    def __init__(self, db: Database, quotas: SignupQuotas, policy: SignupPolicyName) -> None:
        self._db = db
        self._quotas = quotas
        self.policy = policy

    async def admit(self, cmd: RegisterCommand, meta: RequestMeta) -> SignupInvite | None:
        """The open invite ``cmd`` registers with (None without one).

        The client IP's registration quota is taken first, then the invite is checked: a valid
        one spares the email domain's quota (an operator vouched for that very email), without
        one the domain's registration quota is taken. Raises ``SignupClosed`` under
        ``invite_only`` without an invite, ``SignupQuotaExceeded`` past a quota,
        ``InvalidSignupInvite`` for an invite that is unknown, used, revoked, expired or for
        another email.
        """
        email = str(cmd.email)
        if cmd.invite_token is None and self.policy == "invite_only":
            raise SignupClosed()
        address = self._quotas.take_address("registration", meta.client_ip)
        await self._within(address, "registration", email, meta)
        if cmd.invite_token is not None:
            return await self._open_invite(cmd.invite_token, email, meta)
        await self._within(
            self._quotas.take_domain("registration", email), "registration", email, meta
        )
        return None

    async def take_access_request_quota(self, email: str, meta: RequestMeta) -> None:
        """Count an access request against its IP and email domain, apart from registrations."""
        address = self._quotas.take_address("access_request", meta.client_ip)
        await self._within(address, "access_request", email, meta)
        domain = self._quotas.take_domain("access_request", email)
        await self._within(domain, "access_request", email, meta)

    async def _within(
        self, quota: Awaitable[None], attempt: SignupAttempt, email: str, meta: RequestMeta
    ) -> None:
        """Await the count ``quota``; a refusal is audited before it is raised."""
        try:
            await quota
        except SignupQuotaExceeded as exceeded:
            async with self._db.transaction() as session:
                await record(
                    session,
                    AuditKind.SIGNUP_QUOTA_EXCEEDED,
                    meta=meta,
                    domain=registrable_domain(email),
                    quota=exceeded.details["quota"],
                    attempt=attempt,
                )
            raise

    async def _open_invite(self, token: str, email: str, meta: RequestMeta) -> SignupInvite:
        async with self._db.session() as session:
            invite = await repo.invite_by_token(session, token_hash(token))
        refusal = _refusal(invite, email)
        if refusal is None and invite is not None:
            return invite
        async with self._db.transaction() as session:
            await record(
                session,
                AuditKind.SIGNUP_INVITE_REFUSED,
                meta=meta,
                reason=refusal,
                invite_id=invite.id if invite else None,
                email_hash=account_key(email),
            )
        raise InvalidSignupInvite()

    async def claim(
        self,
        session: AsyncSession,
        invite: SignupInvite,
        *,
        user_id: str,
        tenant_id: str,
        meta: RequestMeta,
    ) -> None:
        """Use ``invite`` for ``user_id`` (owner of the new ``tenant_id``, whose audit log shows
        it) in the registration's transaction; raises ``InvalidSignupInvite`` when a concurrent
        registration used it first."""
        if not await repo.claim_invite(session, invite.id, user_id):
            raise InvalidSignupInvite()
        await record(
            session,
            AuditKind.SIGNUP_INVITE_USED,
            user_id=user_id,
            tenant_id=tenant_id,
            meta=meta,
            invite_id=invite.id,
        )


def _refusal(invite: SignupInvite | None, email: str) -> str | None:
    """Why ``invite`` cannot admit ``email`` (for the audit trail), or None."""
    if invite is None:
        return "unknown"
    if invite.status != "pending":
        return invite.status
    return None if invite.is_for(email) else "other_email"
