"""What the deployment must cover, read from the code (never typed in by hand).

Services come from the ``agentbus.services`` entry points, settings from each
service's ``ServiceSettings`` subclass, subjects from ``agentbus_shared.contracts``
and the calls one service makes to another from its source.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from agentbus_shared import contracts, manifest
from agentbus_shared.contracts.events import registered_events
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GATEWAY = "gateway"


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
def contract_module(service: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"agentbus_shared.contracts.{service}")
    except ModuleNotFoundError:
        return None


def operations(service: str) -> dict[str, str]:
    """``Operation`` constant name → operation name, for ``service``."""
    module = contract_module(service)
    operation_class = getattr(module, "Operation", None)
    if operation_class is None:
        return {}
    return {k: v for k, v in vars(operation_class).items() if k.isupper() and isinstance(v, str)}


def public_subjects() -> set[str]:
    """Every ``rpc.<service>.v1.<operation>`` the public HTTP routes forward to."""
    return {route.subject for route in contracts.ROUTES}


def event_subjects() -> dict[str, str]:
    """A concrete subject for every registered event type → the service that owns it."""
    return {
        f"events.{cls.service}.t_probe.{cls.event_type}": cls.service
        for cls in registered_events().values()
    }


@dataclass(frozen=True)
class RpcCall:
    caller: str
    service: str
    operation: str
    where: str

    @property
    def subject(self) -> str:
        return f"rpc.{self.service}.v1.{self.operation}"


class UnresolvedCall(AssertionError):
    pass


def rpc_calls(service: ServiceManifest) -> list[RpcCall]:
    """The ``….rpc.request(service, operation, …)`` / ``….rpc.call(…)`` calls in a service's source.

    Service and operation must be literals, a contract's ``SERVICE`` or an
    ``Operation`` constant; anything else cannot be checked against the bus
    permissions and raises :class:`UnresolvedCall` saying where.
    """
    package = importlib.import_module(service.module)
    root = Path(next(iter(package.__path__)))
    calls = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        calls.extend(calls_in_source(service.name, path.read_text(), str(path.relative_to(ROOT))))
    return calls


def calls_in_source(caller: str, source: str, where: str) -> list[RpcCall]:
    calls = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"request", "call"}
            and _ends_with_rpc(node.func.value)
        ):
            continue
        location = f"{where}:{node.lineno}"
        args = list(node.args) + [
            k.value for k in node.keywords if k.arg in {"service", "operation"}
        ]
        if len(args) < 2:
            raise UnresolvedCall(f"{location}: an RPC call without service and operation")
        target = _resolve_service(args[0], location)
        operation = _resolve_operation(args[1], target, location)
        calls.append(RpcCall(caller, target, operation, location))
    return calls


def _ends_with_rpc(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "rpc"
    return isinstance(node, ast.Name) and node.id == "rpc"


def _resolve_service(node: ast.expr, location: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "SERVICE"
        and isinstance(node.value, ast.Name)
    ):
        module = contract_module(node.value.id)
        if module is not None:
            return str(module.SERVICE)
    raise UnresolvedCall(
        f"{location}: cannot tell which service this RPC call targets; "
        "name it with a literal or <contract>.SERVICE so the bus permissions can be checked"
    )


def _resolve_operation(node: ast.expr, service: str, location: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Attribute):
        known = operations(service)
        if node.attr in known:
            return known[node.attr]
    raise UnresolvedCall(
        f"{location}: cannot tell which {service} operation this RPC call makes; "
        f"use a literal or {service}.Operation.<NAME>"
    )
