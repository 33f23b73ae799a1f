"""One-time codes: issued as MACs, derived for the mailer, checked under an attempt limit, used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.codes import repository as repo
from agentbus_auth.codes.repository import Purpose
from agentbus_auth.crypto import CodeKey, same
from agentbus_shared.db import Database
from agentbus_shared.ids import new_id

CODE_LENGTH = 8


class OneTimeCodes:
    def __init__(self, db: Database, key: CodeKey, *, max_attempts: int) -> None:
        self._db = db
        self._key = key
        self.max_attempts = max_attempts

    def code_for(self, purpose: Purpose, code_id: str) -> str:
        """The code of ``code_id``: what the mailer renders (needs the code key)."""
        return self._key.digits(purpose.value, code_id, CODE_LENGTH)

    async def issue(
        self, session: AsyncSession, user_id: str, purpose: Purpose, *, ttl: int
    ) -> str:
        """A new code for the user (closing older ones), in the caller's transaction; its id."""
        code_id = new_id("otc")
        await repo.supersede(session, user_id, purpose)
        await repo.add(
            session,
            code_id=code_id,
            user_id=user_id,
            purpose=purpose,
            code_mac=self._key.mac(purpose.value, self.code_for(purpose, code_id)),
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl),
        )
        return code_id

    async def check(self, user_id: str, purpose: Purpose, code: str) -> str | None:
        """The id of the user's open code if ``code`` is it; each call spends one attempt.

        The attempt is committed on its own, so a wrong guess counts even though
        the caller's request then fails.
        """
        async with self._db.transaction() as session:
            attempt = await repo.take_attempt(
                session, user_id, purpose, max_attempts=self.max_attempts
            )
        if attempt is None:
            return None
        if not same(attempt.code_mac, self._key.mac(purpose.value, code)):
            return None
        return attempt.code_id

    async def consume(self, session: AsyncSession, code_id: str) -> bool:
        return await repo.consume(session, code_id)
