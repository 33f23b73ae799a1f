"""Alembic, one tree per service, each writing only to its own schema.

A service's ``migrations/env.py`` is two lines::

    from agentbus_auth.models import metadata
    from agentbus_shared.migrations import run_env
    run_env(metadata)

and :func:`upgrade` runs it for a database URL (from the CLI, the dev stack
and the test fixtures alike).
"""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from agentbus_shared.db.database import async_url
from agentbus_shared.manifest import ServiceManifest

URL_ATTRIBUTE = "agentbus_database_url"


def alembic_config(manifest: ServiceManifest, database_url: str) -> Config:
    if not manifest.migrations or not manifest.schema:
        raise ValueError(f"service {manifest.name} has no migrations")
    location = Path(str(resources.files(manifest.migrations)))
    config = Config()
    config.set_main_option("script_location", str(location))
    config.set_main_option("version_locations", str(location / "versions"))
    config.set_main_option("path_separator", "os")
    # The URL may hold a password with '%': keep it out of the ConfigParser.
    config.attributes[URL_ATTRIBUTE] = database_url
    config.attributes["schema"] = manifest.schema
    return config


def upgrade(manifest: ServiceManifest, database_url: str, revision: str = "head") -> None:
    """Apply ``manifest``'s migrations up to ``revision`` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(manifest, database_url), revision)


async def upgrade_async(
    manifest: ServiceManifest, database_url: str, revision: str = "head"
) -> None:
    await asyncio.to_thread(upgrade, manifest, database_url, revision)


def current(manifest: ServiceManifest, database_url: str) -> None:
    command.current(alembic_config(manifest, database_url))


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's ``env.py``: online migrations on asyncpg, schema-scoped."""
    config = context.config
    schema = target_metadata.schema or config.attributes.get("schema")
    if not schema:
        raise RuntimeError("the service metadata must name its schema")
    url = config.attributes.get(URL_ATTRIBUTE) or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    if context.is_offline_mode():
        context.configure(
            url=async_url(url),
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=_only_schema(schema),
            literal_binds=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata, schema))


async def _run_online(url: str, target_metadata: MetaData, schema: str) -> None:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await connection.commit()
            await connection.run_sync(_run_sync, target_metadata, schema)
    finally:
        await engine.dispose()


def _run_sync(connection: Connection, target_metadata: MetaData, schema: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=_only_schema(schema),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _only_schema(schema: str) -> Any:
    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return True

    return include_name


def create_platform_tables(schema: str) -> None:
    """Create the outbox and processed-events tables in ``schema`` (call from a migration)."""
    from agentbus_shared.db.database import schema_metadata
    from agentbus_shared.db.idempotency import processed_events_table
    from agentbus_shared.db.outbox import outbox_table

    metadata = schema_metadata(schema)
    bind = context.get_bind()
    for table in (outbox_table(metadata), processed_events_table(metadata)):
        table.create(bind)


def drop_platform_tables(schema: str) -> None:
    from alembic import op

    op.drop_table("processed_events", schema=schema)
    op.drop_table("outbox", schema=schema)
