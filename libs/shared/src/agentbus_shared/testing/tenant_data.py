"""What is left of a tenant in the database: the rows of every table with a ``tenant_id`` column,
in every service's schema, and the tenant's events every service's outbox keeps (deprovisioning's
tests assert it is nothing).

Statements, so a test reading through ``psql`` and one holding a session ask alike:
``TENANT_TABLES_SQL`` names the tables, ``tenant_rows_sql`` counts the tenant's rows in them;
``OUTBOX_EVENTS_SQL`` counts the tenant's events in each schema's outbox, the saga's own
(request, answers, completion: ids, times and counts only) aside.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_shared.db.tenant_deletion import SAGA_EVENTS

TENANT_TABLES_SQL = """
SELECT c.table_schema || '.' || c.table_name
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.column_name = 'tenant_id'
  AND t.table_type = 'BASE TABLE'
  AND c.table_schema NOT IN ('pg_catalog', 'information_schema', 'public')
ORDER BY 1
"""
"""Every ``schema.table`` with a ``tenant_id`` column."""


OUTBOX_TABLES_SQL = """
SELECT table_schema || '.' || table_name
FROM information_schema.tables
WHERE table_name = 'outbox'
  AND table_type = 'BASE TABLE'
  AND table_schema NOT IN ('pg_catalog', 'information_schema', 'public')
ORDER BY 1
"""
"""Every service's ``schema.outbox``."""


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _counts_sql(tables: Sequence[str], where: str) -> str:
    """One statement: each ``schema.table`` and the number of its rows matching ``where``."""
    counts = []
    for table in tables:
        schema, name = table.split(".", 1)
        counts.append(
            f"SELECT {_quoted(table)} AS tab, count(*) AS n "  # noqa: S608 - names from the catalog
            f'FROM "{schema}"."{name}" WHERE {where}'
        )
    return " UNION ALL ".join(counts)


def tenant_rows_sql(tables: Sequence[str], tenant_id: str) -> str:
    """One statement: ``schema.table`` and the number of ``tenant_id``'s rows in it, per table."""
    return _counts_sql(tables, f"tenant_id = {_quoted(tenant_id)}")


def outbox_events_sql(outboxes: Sequence[str], tenant_id: str) -> str:
    """One statement: ``schema.outbox`` and the number of ``tenant_id``'s events in it (its
    subjects' third token), the saga's own aside, per outbox."""
    saga = ", ".join(_quoted(kind) for kind in SAGA_EVENTS)
    return _counts_sql(
        outboxes,
        f"split_part(subject, '.', 3) = {_quoted(tenant_id)} "
        f"AND regexp_replace(subject, '^([^.]*[.]){{3}}', '') NOT IN ({saga})",
    )


async def tenant_rows(session: AsyncSession, tenant_id: str) -> dict[str, int]:
    """``schema.table`` -> how many rows of ``tenant_id`` it holds, for every table holding some."""
    tables = list((await session.scalars(text(TENANT_TABLES_SQL))).all())
    rows = (await session.execute(text(tenant_rows_sql(tables, tenant_id)))).all()
    return {row.tab: int(row.n) for row in rows if row.n}


async def tenant_events(session: AsyncSession, tenant_id: str) -> dict[str, int]:
    """``schema.outbox`` -> how many of ``tenant_id``'s events it keeps, for every outbox keeping
    some (the saga's own aside)."""
    outboxes = list((await session.scalars(text(OUTBOX_TABLES_SQL))).all())
    rows = (await session.execute(text(outbox_events_sql(outboxes, tenant_id)))).all()
    return {row.tab: int(row.n) for row in rows if row.n}
