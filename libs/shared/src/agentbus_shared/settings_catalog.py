"""Every setting the processes read, described from the settings models: the rows of
``docs/settings.md`` and what the deploy tests hold ``.env.example`` and the manifests to."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo

from agentbus_shared import manifest
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import (
    DEV_SECRET_PREFIX,
    SET_BY_DEPLOYMENT,
    ServiceSettings,
)

SHARED = "shared"
"""Owner of the settings every process reads under the same name."""

DEV_VALUE = "a development value"
"""How a default secret that production refuses is written in the catalog and the docs."""


class Kind(StrEnum):
    OPERATOR = "operator"
    """What whoever runs Agentbus decides: in ``.env.example`` and the Kubernetes settings."""
    DEPLOYMENT = "deployment"
    """What compose, the Kubernetes manifests and ``agentbus dev`` set for each process."""
    TUNING = "tuning"
    """An engineering knob of a service's ``tuning`` model, with a tested default."""


@dataclass(frozen=True)
class Setting:
    names: tuple[str, ...]
    """The environment variables it is read from, the first one preferred."""
    kind: Kind
    secret: bool
    default: str
    """The default as one would write it in the environment (empty: unset)."""
    description: str

    @property
    def env(self) -> str:
        return self.names[0]


def settings_class(service: ServiceManifest) -> type[ServiceSettings]:
    """The one ``ServiceSettings`` subclass in ``<module>/settings.py``."""
    module = importlib.import_module(f"{service.module}.settings")
    found = [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, ServiceSettings)
        and cls is not ServiceSettings
        and cls.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise TypeError(f"{module.__name__} must define one ServiceSettings subclass: {found}")
    return found[0]


def shared_settings() -> list[Setting]:
    """What every process reads under the same name (its tuning aside)."""
    return list(_top_level(ServiceSettings, shared=True))


def service_settings(service: ServiceManifest) -> list[Setting]:
    """A service's own settings and every knob of its tuning (the shared knobs included)."""
    cls = settings_class(service)
    return [*_top_level(cls, shared=False), *_tuning(cls)]


def catalog() -> dict[str, list[Setting]]:
    """Every setting, by owner: ``shared`` first, then each service in start-up order."""
    found = {SHARED: shared_settings()}
    found.update({service.name: service_settings(service) for service in manifest.discover()})
    return found


def by_name() -> dict[str, Setting]:
    """Every environment variable any process reads (aliases included), by name."""
    return {name: s for settings in catalog().values() for s in settings for name in s.names}


def _top_level(cls: type[ServiceSettings], *, shared: bool) -> Iterator[Setting]:
    for name, field in cls.model_fields.items():
        if name == "tuning" or (name in ServiceSettings.model_fields) != shared:
            continue
        kind = Kind.DEPLOYMENT if _set_by_deployment(field) else Kind.OPERATOR
        yield _setting(_names(cls, name, field), kind, field)


def _tuning(cls: type[ServiceSettings]) -> Iterator[Setting]:
    for name, field in cls.tuning_model().model_fields.items():
        yield _setting((cls.tuning_variable(name),), Kind.TUNING, field)


def _setting(names: tuple[str, ...], kind: Kind, field: FieldInfo) -> Setting:
    secret = "SecretStr" in repr(field.annotation)
    default = field.get_default(call_default_factory=True)
    return Setting(names, kind, secret, _written(default), field.description or "")


def _names(cls: type[ServiceSettings], name: str, field: FieldInfo) -> tuple[str, ...]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices if isinstance(choice, str))
    return (f"{cls.env_prefix()}{name}".upper(),)


def _set_by_deployment(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and all(extra.get(k) == v for k, v in SET_BY_DEPLOYMENT.items())


def _written(value: Any) -> str:
    """A default as the environment would spell it."""
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        return DEV_VALUE if secret.startswith(DEV_SECRET_PREFIX) else secret
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, str | int | float | Path):
        return str(value)
    return json.dumps(_plain(value), separators=(", ", ": "))


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_none=True)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
