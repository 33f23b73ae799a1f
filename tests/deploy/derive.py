"""What the deployment must cover, read from the code (never typed in by hand).

Services come from the ``agentbus.services`` entry points, settings from each
service's ``ServiceSettings`` subclass, subjects from ``agentbus_shared.contracts``
and the calls one service makes to another from its source.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from agentbus_shared import manifest
from agentbus_shared.bus import permissions
from agentbus_shared.contracts.events import registered_events
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GATEWAY = permissions.GATEWAY


def services() -> list[ServiceManifest]:
    return manifest.discover()


def service_names() -> list[str]:
    return [s.name for s in services()]


# ------------------------------------------------------------------ settings
@dataclass(frozen=True)
class Setting:
    env: str
    """The environment variable the process reads."""
    field: str
    owner: str
    """``shared`` or the service whose settings class declares it."""
    secret: bool
    default: Any
    description: str | None


def settings_class(service: ServiceManifest) -> type[ServiceSettings]:
    """The ``ServiceSettings`` subclass in ``agentbus_<name>/settings.py``."""
    module = importlib.import_module(f"{service.module}.settings")
    found = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings)
        and cls is not ServiceSettings
        and cls.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise AssertionError(
            f"{module.__name__} must define exactly one ServiceSettings subclass, found {found}"
        )
    return found[0]


def env_names(cls: type[ServiceSettings], name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, str):
        return [alias]
    if field.alias:
        return [field.alias]
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [f"{prefix}{name}".upper()]


def _is_secret(field: FieldInfo) -> bool:
    annotation = field.annotation
    return annotation is SecretStr or "SecretStr" in repr(annotation)


def settings_of(service: ServiceManifest) -> list[Setting]:
    cls = settings_class(service)
    return [
        Setting(
            env_names(cls, name, field)[0],
            name,
            "shared" if name in ServiceSettings.model_fields else service.name,
            _is_secret(field),
            field.default,
            field.description,
        )
        for name, field in cls.model_fields.items()
    ]


@functools.cache
def all_settings() -> dict[str, Setting]:
    """Every environment variable any service reads, by name."""
    found: dict[str, Setting] = {}
    for service in services():
        for setting in settings_of(service):
            found.setdefault(setting.env, setting)
    return found


def service_settings(service: str) -> list[Setting]:
    return settings_of(next(s for s in services() if s.name == service))


# ------------------------------------------------------------------ bus
# What each service does on the bus is read by the generator of the bus permissions; the tests
# use the same reading.
def public_subjects() -> set[str]:
    return permissions.public_subjects()


def event_subjects() -> dict[str, str]:
    """A concrete subject for every registered event type → the service that owns it."""
    return {
        f"events.{cls.service}.t_probe.{cls.event_type}": cls.service
        for cls in registered_events().values()
    }


rpc_calls = permissions.rpc_calls
calls_in_source = permissions.calls_in_source
RpcCall = permissions.RpcCall
UnresolvedCall = permissions.UnresolvedUse
