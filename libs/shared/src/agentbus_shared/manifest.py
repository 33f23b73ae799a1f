"""What each service declares about itself, found through the ``agentbus.services`` entry points.

The operator CLI and the dev stack learn the services from here, so they import
no service code: a manifest module holds data only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points

SERVICE_ORDER = ("auth", "billing", "chat", "activity", "gateway")

DEV_SECRET = "<dev-secret>"  # noqa: S105 - a placeholder, not a secret
"""Value in ``ServiceManifest.env`` asking the dev stack for a generated, persistent dev secret."""


@dataclass(frozen=True)
class Companion:
    """A development process standing in for something outside the system (e.g. a payment API).

    ``agentbus dev`` starts it (``python -m <module>`` with ``HTTP_HOST`` and
    ``PORT``) before the services, unless ``unless_env`` is set (the real thing
    is configured), waits for ``health_path``, and gives every service the
    ``provides`` environment. Values of ``env`` and ``provides`` may use
    ``{url}``, ``{port}`` (the companion's), ``{gateway_url}`` and ``{var_dir}``.
    """

    name: str
    module: str
    default_port: int
    unless_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    provides: dict[str, str] = field(default_factory=dict)
    health_path: str = "/health"
    stands_in_for: str = ""
    """What it stands in for, as ``agentbus dev`` names it once everything is up (e.g. "Stripe")."""


@dataclass(frozen=True)
class ServiceManifest:
    name: str
    module: str
    """Package run with ``python -m <module>``."""
    default_port: int
    """HTTP port in the dev stack (health, readiness and metrics; the gateway's public port)."""
    schema: str | None = None
    """Postgres schema the service owns, if any."""
    migrations: str | None = None
    """Package holding the Alembic tree (``env.py``, ``versions/``)."""
    cli: str | None = None
    """``module:attribute`` of a Typer app added as ``agentbus <name> …``."""
    needs_redis: bool = False
    env: dict[str, str] = field(default_factory=dict)
    """Extra environment the dev stack sets for this service; ``DEV_SECRET`` values are generated."""
    companions: tuple[Companion, ...] = ()
    """Development stand-ins the dev stack runs for this service (see :class:`Companion`)."""
    metrics_port: int | None = None
    """Port of an internal listener for ``/metrics`` when ``default_port`` faces the public (the
    gateway's); the dev stack passes it as ``<NAME>_METRICS_PORT``. None: metrics on the HTTP port."""

    @property
    def scrape_port(self) -> int:
        """Where Prometheus reads this service's ``/metrics``."""
        return self.metrics_port or self.default_port


def discover() -> list[ServiceManifest]:
    """Every installed service, in start-up order (dependencies of others first)."""
    found: dict[str, ServiceManifest] = {}
    for entry in entry_points(group="agentbus.services"):
        manifest = entry.load()
        if not isinstance(manifest, ServiceManifest):
            raise TypeError(f"entry point {entry.name} is not a ServiceManifest")
        found[manifest.name] = manifest
    order = {name: i for i, name in enumerate(SERVICE_ORDER)}
    return sorted(found.values(), key=lambda m: (order.get(m.name, len(order)), m.name))


def with_schema() -> list[ServiceManifest]:
    return [m for m in discover() if m.schema and m.migrations]
