"""``agentbus activity …``: operator commands (rebuild the feed by replaying the event streams).

They run in this process against ``DATABASE_URL`` and ``NATS_URL`` (as the activity service's
bus user), with the same code the service runs; the service itself keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from agentbus_activity.app import ActivityParts

app = typer.Typer(help="Activity: rebuild the feed by replay.", no_args_is_help=True)


@app.callback()
def activity() -> None:
    """Activity: rebuild the feed by replay (a group, so ``agentbus activity rebuild`` reads as
    it does for the other services' commands)."""


@asynccontextmanager
async def _activity() -> AsyncIterator[ActivityParts]:
    from agentbus_activity.app import ActivityParts, build
    from agentbus_activity.settings import ActivitySettings
    from agentbus_shared.logging import configure_logging

    settings = ActivitySettings()
    configure_logging("activity-cli", level=settings.log_level, fmt="console")
    runtime = build(settings, configure_process=False)
    await runtime.broker.connect()
    try:
        yield runtime.parts_as(ActivityParts)
    finally:
        await runtime.broker.stop()
        await runtime.database.dispose()


class _Bar:
    """The rebuild's progress as a terminal progress bar."""

    def __init__(self) -> None:
        self._bar: Any = None

    def started(self, total: int) -> None:
        self._bar = typer.progressbar(length=max(total, 1), label="Replaying events")
        self._bar.__enter__()

    def advanced(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    @contextmanager
    def shown(self) -> Iterator[_Bar]:
        try:
            yield self
        finally:
            if self._bar is not None:
                self._bar.__exit__(None, None, None)


def _tenant(value: str | None) -> str | None:
    from agentbus_shared.contracts.subjects import tenant_token

    try:
        return None if value is None else tenant_token(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is no tenant id") from None


def _since(value: str | None) -> datetime | None:
    """``--since`` as a time with its zone: one without says nothing of when it was."""
    if value is None:
        return None
    try:
        since = datetime.fromisoformat(value)
    except ValueError:
        since = None
    if since is None or since.utcoffset() is None:
        raise typer.BadParameter(
            "give an ISO 8601 time with its zone, e.g. 2026-12-01T00:00:00Z",
            param_hint="'--since'",
        )
    return since


@app.command()
def rebuild(
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", help="Rebuild only this tenant's part of the feed.", callback=_tenant
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Rebuild the items of events since this time (ISO 8601 with its zone); "
            "default: all."
        ),
    ] = None,
    take_over: Annotated[
        bool,
        typer.Option("--take-over", help="Mark an interrupted rebuild failed and start anew."),
    ] = False,
) -> None:
    """Replay the event streams into a fresh table and swap it in, while the service serves.

    Read and dismissed marks survive; items past the retention are not brought back."""
    from agentbus_activity.errors import RebuildRunning, RebuildTakenOver

    since_time = _since(since)

    async def run() -> None:
        async with _activity() as activity:
            with _Bar().shown() as bar:
                result = await activity.rebuild.run(
                    tenant_id=tenant, since=since_time, take_over=take_over, progress=bar
                )
        typer.echo(f"{result.replayed} events replayed, {result.items} feed items rebuilt")

    try:
        asyncio.run(run())
    except (RebuildRunning, RebuildTakenOver) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
