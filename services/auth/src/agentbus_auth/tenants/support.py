"""Support actions on someone else's account: an admin's (or an operator's) password reset.

A tenant's owners and admins reset the password of a member of their tenant (anyone else is
not found); only an owner resets an owner's. A platform operator resets anyone's. The user
gets a reset code by mail and the trail records who did it to whom. An admin's reset ends
the user's sessions in the admin's tenant only (their other tenants are not the admin's to
act on); an operator's ends every session. The old password keeps working until the user
sets a new one, which then ends every session: the reset hands the mailbox owner the way
back in, it does not lock anyone out.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.codes.repository import Purpose
from agentbus_auth.codes.service import OneTimeCodes
from agentbus_auth.errors import AccountDisabled, MemberNotFound, OwnerOnly
from agentbus_auth.mail.requests import request_mail
from agentbus_auth.sessions.service import SessionService
from agentbus_auth.tenants import repository as repo
from agentbus_auth.tenants.membership import MANAGERS, acting_member
from agentbus_shared.contracts.common import Principal, RequestMeta, Role, Scope
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound


class SupportActions:
    def __init__(
        self, db: Database, *, codes: OneTimeCodes, sessions: SessionService, reset_code_ttl: int
    ) -> None:
        self._db = db
        self._codes = codes
        self._sessions = sessions
        self._reset_code_ttl = reset_code_ttl

    async def reset_password(self, principal: Principal, user_id: str, meta: RequestMeta) -> None:
        """Mail ``user_id`` a reset code and end their sessions, as an admin or an operator."""
        operator = principal.has(Scope.PLATFORM_OPERATE)
        async with self._db.transaction() as session:
            if not operator:
                await self._within_tenant(session, principal, user_id)
            user = await accounts_repo.by_id(session, user_id)
            if user is None:
                raise NotFound("No such user.")
            if user.status == "disabled":
                raise AccountDisabled("The account is disabled: its password cannot be reset.")
            code_id = await self._codes.issue(
                session, user.id, Purpose.PASSWORD_RESET, ttl=self._reset_code_ttl
            )
            await self._mail(session, principal, user, code_id, operator=operator)
            await self._sessions.revoke(
                session,
                reason="password_reset_by_admin",
                user_id=user.id,
                tenant_id=None if operator else principal.tenant_id,
                meta=meta,
                actor_id=principal.user_id,
            )
            # An operator's reset belongs to no one tenant: the trail shows it in each of the user's.
            await record(
                session,
                AuditKind.SUPPORT_PASSWORD_RESET,
                user_id=user.id,
                tenant_id=None if operator else principal.tenant_id,
                actor_id=principal.user_id,
                meta=meta,
                by="operator" if operator else "admin",
            )

    async def _mail(
        self,
        session: AsyncSession,
        principal: Principal,
        user: accounts_repo.User,
        code_id: str,
        *,
        operator: bool,
    ) -> None:
        """The reset code, in a message saying who reset the password and where it signed out."""
        team = None if operator else await repo.tenant(session, principal.tenant_id)
        await request_mail(
            session,
            to=user.email,
            template="password_reset_by_admin" if team else "password_reset_by_support",
            secret_ref=code_id,
            name=user.display_name or user.email,
            expires_in=f"{self._reset_code_ttl // 60} minutes",
            **({"tenant_name": team.name} if team else {}),
        )

    @staticmethod
    async def _within_tenant(session: AsyncSession, principal: Principal, user_id: str) -> None:
        """Refuse unless the caller manages the tenant and ``user_id`` is a member of it."""
        actor = await acting_member(
            session,
            principal,
            roles=MANAGERS,
            refusal="Only owners and admins reset a member's password.",
        )
        target = await repo.member(session, principal.tenant_id, user_id)
        if target is None:
            raise MemberNotFound()
        if target.role is Role.OWNER and actor.role is not Role.OWNER:
            raise OwnerOnly("Only an owner can reset an owner's password.")
