"""Reading the audit trail: the newest entries, of one user or one kind."""

from __future__ import annotations

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit import repository as repo
from agentbus_auth.audit.repository import AuditEntry
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound


class AuditTrail:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def entries(
        self, *, email: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Newest first; raises ``NotFound`` for an ``email`` without an account."""
        async with self._db.session() as session:
            user_id = None
            if email is not None:
                user = await accounts_repo.by_email(session, email)
                if user is None:
                    raise NotFound(f"No account with email {email}.")
                user_id = user.id
            return await repo.entries(session, user_id=user_id, kind=kind, limit=limit)
