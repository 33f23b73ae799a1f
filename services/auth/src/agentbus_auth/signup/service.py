"""Who may sign up: the policy the register form shows, access requests and their decisions, and
platform signup invites (mailed, bound to one email, single use, expiring)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import CodeKey, token_hash
from agentbus_auth.errors import (
    EmailTaken,
    SignupInviteNotFound,
    SignupInviteUsed,
    SignupRequestDecided,
    SignupRequestNotFound,
)
from agentbus_auth.mail.requests import request_mail
from agentbus_auth.profile.service import RequiredConsents
from agentbus_auth.signup import repository as repo
from agentbus_auth.signup.gate import SignupGate
from agentbus_auth.signup.invites import signup_invite_token
from agentbus_auth.signup.repository import SignupInvite, SignupRequest
from agentbus_auth.throttle import account_key
from agentbus_shared.contracts.common import Page, PageQuery, RequestMeta
from agentbus_shared.contracts.signup import (
    AccessRequest,
    SignupInviteCreate,
    SignupInviteView,
    SignupPolicyView,
    SignupRequestReject,
    SignupRequestsQuery,
    SignupRequestView,
)
from agentbus_shared.db import Database
from agentbus_shared.ids import new_id


class SignupService:
    def __init__(
        self,
        db: Database,
        gate: SignupGate,
        code_key: CodeKey,
        *,
        consents: RequiredConsents,
        invite_ttl: int,
    ) -> None:
        self._db = db
        self._gate = gate
        self._code_key = code_key
        self._consents = consents
        self._invite_ttl = invite_ttl

    def policy(self) -> SignupPolicyView:
        return SignupPolicyView(
            policy=self._gate.policy,
            terms_version=self._consents.terms,
            privacy_version=self._consents.privacy,
            terms_url=self._consents.terms_url,
            privacy_url=self._consents.privacy_url,
        )

    # ---------------------------------------------------------------- access requests
    async def request_access(self, cmd: AccessRequest, meta: RequestMeta) -> None:
        """Store the request unless one of the same email is pending. Every email takes the same
        steps (quota, one insert, one audit entry) and the caller learns nothing either way;
        raises ``SignupQuotaExceeded`` past the IP's or the domain's quota."""
        await self._gate.take_access_request_quota(str(cmd.email), meta)
        request_id = new_id("sreq")
        async with self._db.transaction() as session:
            stored = await repo.add_request(
                session,
                request_id=request_id,
                email=str(cmd.email),
                name=cmd.name,
                company=cmd.company,
                message=cmd.message,
                ip=meta.client_ip,
            )
            await record(
                session,
                AuditKind.SIGNUP_REQUESTED,
                meta=meta,
                request_id=request_id if stored else None,
                email_hash=account_key(str(cmd.email)),
                repeated=not stored,
            )

    async def requests(self, query: SignupRequestsQuery) -> Page[SignupRequestView]:
        async with self._db.session() as session:
            rows, next_cursor = await repo.requests_page(
                session, status=query.status, limit=query.limit, cursor=query.cursor
            )
        return Page[SignupRequestView](
            items=[_request_view(r) for r in rows], next_cursor=next_cursor
        )

    async def approve(self, actor: str, request_id: str, meta: RequestMeta) -> SignupRequestView:
        """Mail a signup invite to the request's email and mark the request approved; when the
        email has an account by now, close the request as ``account_exists`` instead, mailing
        nothing. Raises ``SignupRequestNotFound``, ``SignupRequestDecided``."""
        async with self._db.transaction() as session:
            request = await _pending_request(session, request_id)
            if await accounts_repo.by_email(session, request.email) is not None:
                decided = await _close_for_account(session, actor, request, meta)
            else:
                decided = await self._approve(session, actor, request, meta)
        return _request_view(decided)

    async def _approve(
        self, session: AsyncSession, actor: str, request: SignupRequest, meta: RequestMeta
    ) -> SignupRequest:
        invite = await self._mail_invite(
            session, actor, request.email, note=None, request_id=request.id
        )
        decided = await repo.decide(
            session, request.id, status="approved", decided_by=actor, invite_id=invite.id
        )
        await record(
            session,
            AuditKind.SIGNUP_REQUEST_APPROVED,
            actor_id=actor,
            meta=meta,
            request_id=request.id,
            invite_id=invite.id,
        )
        return decided

    async def reject(
        self, actor: str, cmd: SignupRequestReject, meta: RequestMeta
    ) -> SignupRequestView:
        """Mark the request rejected; with a reason, tell the requester politely.
        Raises ``SignupRequestNotFound``, ``SignupRequestDecided``."""
        async with self._db.transaction() as session:
            request = await _pending_request(session, cmd.signup_request_id)
            decided = await repo.decide(
                session,
                request.id,
                status="rejected",
                decided_by=actor,
                reason=cmd.reason,
            )
            if cmd.reason:
                # Not the name the request gave: whoever asked typed it, for any mailbox.
                await request_mail(
                    session, to=request.email, template="signup_rejected", reason=cmd.reason
                )
            await record(
                session,
                AuditKind.SIGNUP_REQUEST_REJECTED,
                actor_id=actor,
                meta=meta,
                request_id=request.id,
                told_why=bool(cmd.reason),
            )
        return _request_view(decided)

    # ---------------------------------------------------------------- signup invites
    async def invites(self, query: PageQuery) -> Page[SignupInviteView]:
        async with self._db.session() as session:
            rows, next_cursor = await repo.invites_page(
                session, limit=query.limit, cursor=query.cursor
            )
        return Page[SignupInviteView](
            items=[_invite_view(r) for r in rows], next_cursor=next_cursor
        )

    async def invite(
        self, actor: str, cmd: SignupInviteCreate, meta: RequestMeta
    ) -> SignupInviteView:
        """Mail a signup invite to ``cmd.email`` on behalf of ``actor`` (an operator's user id, or
        the CLI); raises ``EmailTaken`` when the email has an account."""
        async with self._db.transaction() as session:
            invite = await self._mail_invite(session, actor, str(cmd.email), note=cmd.note)
            await record(
                session,
                AuditKind.SIGNUP_INVITE_CREATED,
                actor_id=actor,
                meta=meta,
                invite_id=invite.id,
            )
        return _invite_view(invite)

    async def revoke(self, actor: str, invite_id: str, meta: RequestMeta) -> SignupInviteView:
        """Revoke an unused invite (again: no change). Raises ``SignupInviteNotFound``,
        ``SignupInviteUsed``."""
        async with self._db.transaction() as session:
            invite = await repo.invite_for_update(session, invite_id)
            if invite is None:
                raise SignupInviteNotFound()
            if invite.used_at is not None:
                raise SignupInviteUsed()
            revoked = await repo.revoke_invite(session, invite.id)
            await record(
                session,
                AuditKind.SIGNUP_INVITE_REVOKED,
                actor_id=actor,
                meta=meta,
                invite_id=invite.id,
            )
        return _invite_view(revoked)

    async def _mail_invite(
        self,
        session: AsyncSession,
        actor: str,
        email: str,
        *,
        note: str | None,
        request_id: str | None = None,
    ) -> SignupInvite:
        if await accounts_repo.by_email(session, email) is not None:
            raise EmailTaken()
        invite_id = new_id("sinv")
        expires_at = datetime.now(UTC) + timedelta(seconds=self._invite_ttl)
        invite = await repo.add_invite(
            session,
            invite_id=invite_id,
            email=email,
            note=note,
            token_hash=token_hash(signup_invite_token(self._code_key, invite_id)),
            created_by=actor,
            expires_at=expires_at,
            signup_request_id=request_id,
        )
        await request_mail(
            session,
            to=email,
            template="signup_invite",
            secret_ref=invite_id,
            expires_at=expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
        return invite


async def _pending_request(session: AsyncSession, request_id: str) -> SignupRequest:
    request = await repo.request_for_update(session, request_id)
    if request is None:
        raise SignupRequestNotFound()
    if request.status != "pending":
        raise SignupRequestDecided()
    return request


async def _close_for_account(
    session: AsyncSession, actor: str, request: SignupRequest, meta: RequestMeta
) -> SignupRequest:
    """Close a request whose email got an account while it waited: nobody is left to invite."""
    closed = await repo.decide(session, request.id, status="account_exists", decided_by=actor)
    await record(
        session,
        AuditKind.SIGNUP_REQUEST_CLOSED,
        actor_id=actor,
        meta=meta,
        request_id=request.id,
    )
    return closed


def _request_view(request: SignupRequest) -> SignupRequestView:
    return SignupRequestView.model_validate(request, from_attributes=True)


def _invite_view(invite: SignupInvite) -> SignupInviteView:
    return SignupInviteView.model_validate(invite, from_attributes=True)
