"""``agentbus``: the one operator CLI.

Core commands live here (``dev``, ``migrate``, ``streams apply``,
``services``, ``db backup``/``db restore``); each service adds its own group (``agentbus auth …``,
``agentbus billing …``) through the ``cli`` field of its manifest, so this
module imports no service.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Annotated, ClassVar

import nats
import typer

from agentbus_shared import backup, devstack, manifest, migrations
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.settings import ServiceSettings


class SchemaCommandSettings(ServiceSettings):
    """What ``migrate`` and ``db backup``/``restore`` read: the database, never Redis (their jobs
    get no ``REDIS_URL``, so production does not refuse its absence)."""

    uses_redis: ClassVar[bool] = False


class BusCommandSettings(ServiceSettings):
    """What ``streams apply`` reads: the bus only."""

    uses_database: ClassVar[bool] = False
    uses_redis: ClassVar[bool] = False


app = typer.Typer(
    name="agentbus",
    help="Run and operate Agentbus.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
streams_app = typer.Typer(help="JetStream streams and KV buckets.", no_args_is_help=True)
app.add_typer(streams_app, name="streams")
db_app = typer.Typer(help="Backups of the services' schemas.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def dev(
    *,
    var_dir: Annotated[Path, typer.Option(help="Where the servers keep their data.")] = Path("var"),
    free_ports: Annotated[
        bool, typer.Option(help="Pick free ports instead of the fixed dev ports.")
    ] = False,
    port: Annotated[int | None, typer.Option(help="The gateway's port (default 8000).")] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Start only these services (and the gateway).")
    ] = None,
    log_files: Annotated[
        bool, typer.Option(help="Write service logs to var/logs/ instead of the terminal.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Every log line of the services and libraries, not only warnings.",
        ),
    ] = False,
    cluster: Annotated[
        bool,
        typer.Option(
            help="Three NATS nodes in one JetStream cluster (R3 streams) and --replicas "
            "replicas of every service."
        ),
    ] = False,
    replicas: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="With --cluster: processes of every service, replica n on node n "
            f"(default {devstack.CLUSTER_REPLICAS}).",
        ),
    ] = None,
) -> None:
    """Run the whole system on this machine: servers, migrations, streams, every service."""
    if replicas is not None and not cluster:
        raise typer.BadParameter("replicas of a service run on the clustered bus: add --cluster")
    raise typer.Exit(
        devstack.run(
            var_dir,
            free_ports=free_ports,
            gateway_port=port,
            only=only,
            log_to_files=log_files,
            verbose=verbose,
            cluster=cluster,
            replicas=replicas or devstack.CLUSTER_REPLICAS,
        )
    )


@app.command()
def migrate(
    services: Annotated[
        list[str] | None, typer.Argument(help="Services to migrate (default: all).")
    ] = None,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply each service's migrations to DATABASE_URL (each to its own schema)."""
    url = SchemaCommandSettings().database_url.get_secret_value()
    selected = [m for m in manifest.with_schema() if not services or m.name in services]
    unknown = set(services or ()) - {m.name for m in selected}
    if unknown:
        raise typer.BadParameter(f"no migrations for: {', '.join(sorted(unknown))}")
    for service in selected:
        typer.echo(f"migrating {service.name} (schema {service.schema}) to {revision}")
        migrations.upgrade(service, url, revision)
    typer.echo("migrations applied")


@streams_app.command("apply")
def streams_apply(
    replicas: Annotated[
        int | None, typer.Option(help="Replicas per stream (default NATS_STREAM_REPLICAS).")
    ] = None,
) -> None:
    """Create or update every stream and bucket to match its definition (idempotent)."""
    settings = BusCommandSettings()

    async def apply() -> None:
        options: dict[str, object] = {"connect_timeout": 5}
        if settings.nats_creds_file:
            options["user_credentials"] = settings.nats_creds_file
        elif settings.nats_user:
            options["user"] = settings.nats_user
            options["password"] = (
                settings.nats_password.get_secret_value() if settings.nats_password else ""
            )
        nc = await nats.connect(settings.nats_url, **options)
        try:
            js = nc.jetstream()
            count = replicas or settings.nats_stream_replicas
            for result in [
                *await apply_streams(js, STREAMS, replicas=count),
                *await apply_buckets(js, BUCKETS, replicas=count),
            ]:
                typer.echo(f"{result.name}: {result.change}")
        finally:
            await nc.close()

    asyncio.run(apply())


def _schemas(services: list[str] | None) -> list[str]:
    """The schemas of the named services (default: every service that owns one)."""
    owned = {m.name: m.schema for m in manifest.with_schema() if m.schema}
    unknown = sorted(set(services or ()) - set(owned))
    if unknown:
        raise typer.BadParameter(
            f"no schema owned by: {', '.join(unknown)} (services with one: {', '.join(owned)})"
        )
    return [owned[name] for name in services or owned]


@db_app.command("backup")
def db_backup(
    destination: Annotated[
        Path, typer.Argument(help="A new directory for the archives and backup.json.")
    ],
    services: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Back up only these services' schemas."),
    ] = None,
) -> None:
    """pg_dump each service's schema from DATABASE_URL into DESTINATION (one archive per schema)."""
    url = SchemaCommandSettings().database_url.get_secret_value()
    try:
        result = backup.backup(url, _schemas(services), destination)
    except backup.BackupError as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    for archive in result.schemas:
        typer.echo(f"{archive.schema}: {destination / archive.file} ({archive.size} bytes)")
    typer.echo(f"backup written to {destination} (PostgreSQL {result.server_version})")


@db_app.command("restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="A directory written by `agentbus db backup`.")],
    services: Annotated[
        list[str] | None,
        typer.Option("--service", "-s", help="Restore only these services' schemas."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask before replacing the schemas.")
    ] = False,
) -> None:
    """Replace each schema in DATABASE_URL with its archive from SOURCE (one transaction each).

    Stop the services that own the schemas first: the restore drops and recreates them.
    """
    url = SchemaCommandSettings().database_url.get_secret_value()
    schemas = _schemas(services) if services else None
    if not yes:
        named = ", ".join(schemas) if schemas else "every schema in the backup"
        typer.confirm(f"Replace {named} with the backup in {source}?", abort=True)
    try:
        restored = backup.restore(url, source, schemas)
    except backup.BackupError as exc:
        typer.echo(f"restore failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored: {', '.join(restored)}")


@app.command("services")
def list_services() -> None:
    """The installed services and what they own."""
    for service in manifest.discover():
        owns = f"schema {service.schema}" if service.schema else "no database"
        typer.echo(f"{service.name:<10} python -m {service.module:<18} {owns}")


def _add_service_commands() -> None:
    for service in manifest.discover():
        if not service.cli:
            continue
        module_name, _, attribute = service.cli.partition(":")
        sub_app = getattr(importlib.import_module(module_name), attribute)
        app.add_typer(sub_app, name=service.name)


def main() -> None:
    _add_service_commands()
    app()
