"""``agentbus``: the one operator CLI.

Core commands live here (``dev``, ``migrate``, ``streams apply``,
``services``); each service adds its own group (``agentbus auth …``,
``agentbus billing …``) through the ``cli`` field of its manifest, so this
module imports no service.
"""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Annotated

import nats
import typer

from agentbus_shared import devstack, manifest, migrations
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts.streams import BUCKETS, STREAMS
from agentbus_shared.settings import ServiceSettings

app = typer.Typer(
    name="agentbus",
    help="Run and operate Agentbus.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
streams_app = typer.Typer(help="JetStream streams and KV buckets.", no_args_is_help=True)
app.add_typer(streams_app, name="streams")


@app.command()
def dev(
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
) -> None:
    """Run the whole system on this machine: servers, migrations, streams, every service."""
    raise typer.Exit(
        devstack.run(
            var_dir, free_ports=free_ports, gateway_port=port, only=only, log_to_files=log_files
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
    url = ServiceSettings().database_url.get_secret_value()
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
    settings = ServiceSettings()

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
