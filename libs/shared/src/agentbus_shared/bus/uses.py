"""The RPC calls and the durable consumers a service's source declares, read without importing it.

The bus permissions (:mod:`agentbus_shared.bus.permissions`) grant each service exactly these:
a call's service and operation, and a consumer's service, name and stream, must therefore be
literals or contract constants; anything else is an :class:`UnresolvedUse` that says where.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from agentbus_shared import contracts, manifest
from agentbus_shared.contracts import events as contract_events
from agentbus_shared.contracts import streams as stream_contracts
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.streams import StreamSpec


@dataclass(frozen=True)
class RpcCall:
    caller: str
    service: str
    operation: str
    where: str

    @property
    def subject(self) -> str:
        return subjects.rpc(self.service, self.operation)


@dataclass(frozen=True)
class ConsumerUse:
    """A ``DurableConsumer(service=…, name=…, stream=…, subject=…)`` declared in a service's
    source."""

    service: str
    durable: str
    stream: str
    subject: str
    """The filter subject: all the consumer may read."""
    where: str


class UnresolvedUse(AssertionError):
    """A call or consumer whose target cannot be read from the source, so it cannot be granted."""


def contract_module(service: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"agentbus_shared.contracts.{service}")
    except ModuleNotFoundError:
        return None


def operations(service: str) -> dict[str, str]:
    """``Operation`` constant name → operation name, for ``service``."""
    operation_class = getattr(contract_module(service), "Operation", None)
    if operation_class is None:
        return {}
    return {k: v for k, v in vars(operation_class).items() if k.isupper() and isinstance(v, str)}


def public_subjects() -> set[str]:
    """Every ``rpc.<service>.v1.<operation>`` the public HTTP routes forward to."""
    return {route.subject for route in contracts.ROUTES}


def source_files(service: manifest.ServiceManifest) -> list[Path]:
    """The service's Python source (not its migrations), found without importing it."""
    spec = importlib.util.find_spec(service.module)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return [p for p in sorted(root.rglob("*.py")) if "migrations" not in p.parts]


def rpc_calls(service: manifest.ServiceManifest) -> list[RpcCall]:
    """The ``….rpc.request(service, operation, …)`` / ``….rpc.call(…)`` calls in its source."""
    return [
        call
        for path in source_files(service)
        for call in _calls_in_file(service.name, str(path), _version(path))
    ]


def consumers(service: manifest.ServiceManifest) -> list[ConsumerUse]:
    """The durable consumers declared in its source."""
    return [
        use
        for path in source_files(service)
        for use in _consumers_in_file(str(path), _version(path))
    ]


def _version(path: Path) -> tuple[int, int]:
    """What tells one content of a file from another without reading it: its change time and
    size. Every bus server a stack or a test starts derives the users again from the source;
    parsed once per content, that costs nothing after the first."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4096)
def _calls_in_file(caller: str, path: str, version: tuple[int, int]) -> tuple[RpcCall, ...]:
    return tuple(calls_in_source(caller, Path(path).read_text(), path))


@functools.lru_cache(maxsize=4096)
def _consumers_in_file(path: str, version: tuple[int, int]) -> tuple[ConsumerUse, ...]:
    return tuple(consumers_in_source(Path(path).read_text(), path))


def calls_in_source(caller: str, source: str, where: str) -> list[RpcCall]:
    """Service and operation must be literals, a contract's ``SERVICE`` or an ``Operation``
    constant; anything else raises :class:`UnresolvedUse` saying where."""
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
            raise UnresolvedUse(f"{location}: an RPC call without service and operation")
        target = _resolve_service(args[0], location)
        operation = _resolve_operation(args[1], target, location)
        calls.append(RpcCall(caller, target, operation, location))
    return calls


def consumers_in_source(source: str, where: str) -> list[ConsumerUse]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and _called_name(node.func) == "DurableConsumer"):
            continue
        location = f"{where}:{node.lineno}"
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        service, durable, stream = (keywords.get(k) for k in ("service", "name", "stream"))
        if not (_is_text(service) and _is_text(durable) and isinstance(stream, ast.Name)):
            raise UnresolvedUse(
                f"{location}: a DurableConsumer needs literal service= and name= and a "
                "contracts.streams constant as stream=, so the bus permissions can grant it"
            )
        spec = getattr(stream_contracts, stream.id, None)
        if not isinstance(spec, StreamSpec):
            raise UnresolvedUse(f"{location}: {stream.id} is not a stream of the contracts")
        subject = _resolve_filter(keywords.get("subject"), location)
        found.append(ConsumerUse(_text(service), _text(durable), spec.name, subject, location))
    return found


def _resolve_filter(node: ast.expr | None, location: str) -> str:
    """A literal subject or ``<EventData class>.filter_subject()`` of a contract event."""
    if _is_text(node):
        return _text(node)
    if (
        isinstance(node, ast.Call)
        and not node.args
        and not node.keywords
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "filter_subject"
        and isinstance(node.func.value, ast.Name)
    ):
        by_name = {cls.__name__: cls for cls in contract_events.registered_events().values()}
        event = by_name.get(node.func.value.id)
        if event is not None:
            return event.filter_subject()
    raise UnresolvedUse(
        f"{location}: a DurableConsumer needs a literal subject= or <Event>.filter_subject() "
        "of a contract event, so the bus permissions can hold it to that filter"
    )


def _called_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_text(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _text(node: ast.expr | None) -> str:
    assert isinstance(node, ast.Constant)
    return str(node.value)


def _ends_with_rpc(node: ast.expr) -> bool:
    """``rpc``, ``self.rpc``, ``self._rpc``, ``runtime.rpc``: an :class:`RpcClient` by its name."""
    name = _called_name(node)
    return name is not None and name.lstrip("_") == "rpc"


def _resolve_service(node: ast.expr, location: str) -> str:
    if _is_text(node):
        return _text(node)
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "SERVICE"
        and isinstance(node.value, ast.Name)
    ):
        module = contract_module(node.value.id)
        if module is not None:
            return str(module.SERVICE)
    raise UnresolvedUse(
        f"{location}: cannot tell which service this RPC call targets; "
        "name it with a literal or <contract>.SERVICE so the bus permissions can grant it"
    )


def _resolve_operation(node: ast.expr, service: str, location: str) -> str:
    if _is_text(node):
        return _text(node)
    if isinstance(node, ast.Attribute):
        known = operations(service)
        if node.attr in known:
            return known[node.attr]
    raise UnresolvedUse(
        f"{location}: cannot tell which {service} operation this RPC call makes; "
        f"use a literal or {service}.Operation.<NAME>"
    )
