"""Granting and revoking ``platform:operate``: only by an explicit grant, each one audited.

An email match is no proof: anyone can register any address, and an invite
once let its sender pick the address of an account. The grant names an
existing account whose email is verified; revoking also ends the account's
sessions, so no token keeps the scope.
"""

from __future__ import annotations

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.accounts.repository import User
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.errors import EmailUnverified
from agentbus_auth.operators import repository as repo
from agentbus_auth.operators.repository import Operator
from agentbus_auth.sessions.service import SessionService
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound


class OperatorGrants:
    def __init__(self, db: Database, sessions: SessionService) -> None:
        self._db = db
        self._sessions = sessions

    async def grant(self, email: str, *, actor: str) -> bool:
        """Make the account of ``email`` a platform operator; False if it was one already.

        Raises ``NotFound`` without such an account and ``EmailUnverified`` while its
        owner has not proved the mailbox.
        """
        async with self._db.transaction() as session:
            user = _existing(await accounts_repo.by_email(session, email))
            if not user.email_verified:
                raise EmailUnverified("The account's email address is not verified yet.")
            granted = await repo.grant(session, user.id, granted_by=actor)
            if granted:
                await record(session, AuditKind.OPERATOR_GRANTED, user_id=user.id, actor_id=actor)
        return granted

    async def revoke(self, email: str, *, actor: str) -> bool:
        """Take ``platform:operate`` away and end the account's sessions; False if it had none."""
        async with self._db.transaction() as session:
            user = _existing(await accounts_repo.by_email(session, email))
            revoked = await repo.revoke(session, user.id)
            if revoked:
                await record(session, AuditKind.OPERATOR_REVOKED, user_id=user.id, actor_id=actor)
                await self._sessions.revoke(
                    session, reason="operator_revoked", user_id=user.id, actor_id=actor
                )
        return revoked

    async def listed(self) -> list[Operator]:
        async with self._db.session() as session:
            return await repo.all_operators(session)


def _existing(user: User | None) -> User:
    if user is None:
        raise NotFound("No account with this email.")
    return user
