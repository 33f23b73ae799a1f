"""What the deployment must cover, read from the code (never typed in by hand).

Services come from the ``agentbus.services`` entry points, settings from the settings catalog
(``agentbus_shared.settings_catalog``), subjects from ``agentbus_shared.contracts``
and the calls one service makes to another from its source.
"""

from __future__ import annotations

import functools

from agentbus_shared import manifest, settings_catalog
from agentbus_shared.bus import permissions, uses
from agentbus_shared.contracts.events import registered_events
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings_catalog import Kind, Setting
from agentbus_shared.testing.checkout import ROOT

DEPLOY = ROOT / "deploy"
GATEWAY = permissions.GATEWAY


def services() -> list[ServiceManifest]:
    return manifest.discover()


def service_names() -> list[str]:
    return [s.name for s in services()]


# ------------------------------------------------------------------ settings
# What each process reads is described by the catalog that generates docs/settings.md.
@functools.cache
def all_settings() -> dict[str, Setting]:
    """Every environment variable any process reads (aliases and tuning knobs included)."""
    return settings_catalog.by_name()


def operator_settings() -> list[Setting]:
    """What an operator decides: every one belongs in .env.example and the Kubernetes settings."""
    return [
        s
        for settings in settings_catalog.catalog().values()
        for s in settings
        if s.kind is Kind.OPERATOR
    ]


def service_settings(service: str) -> list[Setting]:
    """What one service reads: the shared settings, its own, and its tuning."""
    manifest_ = next(s for s in services() if s.name == service)
    return [*settings_catalog.shared_settings(), *settings_catalog.service_settings(manifest_)]


# ------------------------------------------------------------------ bus
# What each service does on the bus is read by the generator of the bus permissions; the tests
# use the same reading.
def public_subjects() -> set[str]:
    return uses.public_subjects()


def event_subjects() -> dict[str, str]:
    """A concrete subject for every registered event type → the service that owns it."""
    return {
        f"events.{cls.service}.t_probe.{cls.event_type}": cls.service
        for cls in registered_events().values()
    }


rpc_calls = uses.rpc_calls
calls_in_source = uses.calls_in_source
RpcCall = uses.RpcCall
UnresolvedCall = uses.UnresolvedUse
