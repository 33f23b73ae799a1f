"""One async engine per service, bound to the service's own schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from agentbus_shared.logging import get_logger

log = get_logger(__name__)

_AFTER_COMMIT = "agentbus_after_commit"
AfterCommit = Callable[[], Awaitable[None]]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """Metadata whose tables live in ``schema``, with stable constraint names for migrations."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def async_url(url: str) -> str:
    """``postgresql://…`` (or ``postgres://``) → ``postgresql+asyncpg://…``; other drivers kept."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in {"postgres", "postgresql"}:
        scheme = "postgresql+asyncpg"
    return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))


def after_commit(session: AsyncSession, callback: AfterCommit) -> None:
    """Run ``callback`` after the transaction of ``session`` commits (``Database.transaction``).

    For what must happen only once a change is durable: publishing state derived from it,
    waking a relay. Registering the same callback twice in one transaction runs it once. Only
    ``Database.transaction`` runs them: a session from ``Database.session`` never does.
    """
    callbacks: list[AfterCommit] = session.info.setdefault(_AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)


def _name(callback: AfterCommit) -> str:
    return getattr(callback, "__qualname__", type(callback).__name__)


class Database:
    """Engine and sessions of one service. The caller owns each unit of work (see ``transaction``)."""

    def __init__(
        self,
        url: str,
        *,
        schema: str,
        application_name: str,
        pool_size: int = 10,
        echo: bool = False,
    ) -> None:
        self.schema = schema
        self.engine: AsyncEngine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
            echo=echo,
            connect_args={
                "server_settings": {"application_name": application_name},
                "timeout": 5,
                "command_timeout": 30,
            },
        )
        # A Session subclass of our own, so session events (the outbox's after-commit
        # wake-up) apply to this database only.
        self.sync_session_class: type[Session] = type(f"{schema.title()}Session", (Session,), {})
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=self.sync_session_class
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed when the block ends, rolled back on an error.

        Callbacks given to :func:`after_commit` for this session run once the commit has
        succeeded, in order (never after a rollback). A failing callback is logged, not
        raised: the change is committed and the caller's answer stands.
        """
        async with self.sessions.begin() as session:
            yield session
        for callback in session.info.pop(_AFTER_COMMIT, ()):
            try:
                await callback()
            except Exception:
                log.exception("database.after_commit_failed", callback=_name(callback))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads (or for callers that commit themselves)."""
        async with self.sessions() as session:
            yield session

    async def ping(self, timeout: float = 2.0) -> bool:
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("database.unreachable", error=type(exc).__name__)
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
