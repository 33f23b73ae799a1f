"""All SQL of runs: one row per chat run, found by its stream id for cancels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_chat.conversations.repository import Owner
from agentbus_chat.models import conversations, runs
from agentbus_shared.contracts.chat import RunEnd, RunStatus


@dataclass(frozen=True)
class Run:
    """One chat run as recorded: how it stands, and what it used so far."""

    id: str
    tenant_id: str
    conversation_id: str
    status: RunStatus
    agent: str | None
    model: str | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class AbandonedRun:
    """A run a dead replica left ``running``, now recorded as interrupted."""

    id: str
    agent: str


_RUN = [runs.c[name] for name in Run.__dataclass_fields__]


def _run(row: Row[Any] | None) -> Run | None:
    return Run(**row._mapping) if row is not None else None


async def start(
    session: AsyncSession,
    owner: Owner,
    *,
    run_id: str,
    conversation_id: str,
    stream_id: str | None,
    agent: str,
    instance: str,
) -> None:
    await session.execute(
        insert(runs).values(
            id=run_id,
            tenant_id=owner.tenant_id,
            user_id=owner.user_id,
            conversation_id=conversation_id,
            stream_id=stream_id,
            status="running",
            agent=agent,
            instance=instance,
        )
    )


async def finish(
    session: AsyncSession,
    tenant_id: str,
    run_id: str,
    *,
    status: RunEnd,
    agent: str | None,
    model: str | None,
    input_tokens: int,
    output_tokens: int,
    error_code: str | None,
) -> bool:
    """Record the outcome once; False if the run was already finished (e.g. marked interrupted)."""
    finished = (
        await session.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.tenant_id == tenant_id, runs.c.status == "running")
            .values(
                status=status,
                agent=agent,
                model=model,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                error_code=error_code,
                finished_at=func.now(),
            )
            .returning(runs.c.id)
        )
    ).one_or_none()
    return finished is not None


async def interrupt_abandoned(session: AsyncSession) -> list[AbandonedRun]:
    """Mark runs nobody runs any more as interrupted: still ``running`` but no live lease.

    A run holds its conversation's lease from the transaction that records it until the one
    that finishes it, and its replica renews the lease while it lives; a replica killed
    mid-run leaves the row ``running`` with a lease that expires. Safe to run on every
    replica at once (the status guard makes it idempotent); it spans every tenant.
    """
    live_lease = exists().where(
        and_(
            conversations.c.active_run_id == runs.c.id,
            conversations.c.lease_expires_at >= func.now(),
        )
    )
    rows = await session.execute(
        update(runs)
        .where(runs.c.status == "running", ~live_lease)
        .values(status="interrupted", error_code="abandoned", finished_at=func.now())
        .returning(runs.c.id, runs.c.agent)
    )
    return [AbandonedRun(str(row.id), str(row.agent or "unknown")) for row in rows]


async def by_stream(session: AsyncSession, owner: Owner, stream_id: str) -> Run | None:
    query = select(*_RUN).where(
        runs.c.stream_id == stream_id,
        runs.c.tenant_id == owner.tenant_id,
        runs.c.user_id == owner.user_id,
    )
    return _run((await session.execute(query)).one_or_none())


async def by_id(session: AsyncSession, tenant_id: str, run_id: str) -> Run | None:
    query = select(*_RUN).where(runs.c.id == run_id, runs.c.tenant_id == tenant_id)
    return _run((await session.execute(query)).one_or_none())
