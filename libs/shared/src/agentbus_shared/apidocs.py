"""AsyncAPI documents generated from a service as built (never connected).

:func:`asyncapi_document` lists what the process subscribes to (every RPC
operation with its request model, every durable consumer with its event),
the reply of each RPC operation (its handler's return type inside the reply
envelope), and what it publishes (:class:`Publication`, e.g. the service's
events from the contracts). :func:`rpc_signatures` gives the same request and
reply types to the tests that check captured payloads against them.

Documents render with sorted keys and no timestamps, so a checked-in copy
changes only when the code does.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, TypeAdapter

from agentbus_shared.bus.rpc import Reply, RpcRouter
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.events import CloudEvent, registered_events
from agentbus_shared.errors import ErrorBody
from agentbus_shared.runtime import ServiceRuntime

DOCUMENTED_SERVER = "nats://localhost:4222"
"""The server the documents name: a fixed placeholder, so the environment never leaks into them."""

SCHEMA_REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class RpcSignature:
    """Request and reply types of one RPC operation, read from its handler's signature.

    ``request`` is ``None`` for an operation whose handler takes no body (the
    payload is ignored); ``reply`` is the type of the envelope's ``data``.
    """

    service: str
    operation: str
    request: type[BaseModel] | None
    reply: Any

    @property
    def subject(self) -> str:
        return subjects.rpc(self.service, self.operation)


@dataclass(frozen=True)
class Publication:
    """Something a service publishes: a subject (``{name}`` marks a variable token) and its payload."""

    subject: str
    payload: Any
    title: str
    description: str | None = None


def _unwrap_reply(hint: Any) -> Any:
    """``Reply[X]`` → ``X``, also inside unions (``TokenPair | Reply[MfaChallenge]``)."""
    if get_origin(hint) is Reply:
        return get_args(hint)[0]
    if get_origin(hint) in (Union, types.UnionType):
        return Union[tuple(_unwrap_reply(arg) for arg in get_args(hint))]  # noqa: UP007
    return hint


def handler_signature(service: str, operation: str, handler: Callable[..., Any]) -> RpcSignature:
    hints = typing.get_type_hints(handler, include_extras=True)
    reply = _unwrap_reply(hints.pop("return", None))
    # Injected parameters (principal, metadata) are Annotated with their dependency.
    bodies = [hint for hint in hints.values() if get_origin(hint) is not Annotated]
    if len(bodies) > 1:
        raise TypeError(f"{service}.{operation}: more than one body parameter: {bodies}")
    request = bodies[0] if bodies else None
    if request is not None and not (isinstance(request, type) and issubclass(request, BaseModel)):
        raise TypeError(f"{service}.{operation}: the body must be a contract model, not {request}")
    return RpcSignature(service, operation, request, reply)


def rpc_signatures(router: RpcRouter) -> dict[str, RpcSignature]:
    """Every operation of ``router`` by subject (``rpc.<service>.v1.<operation>``)."""
    found = (
        handler_signature(router.service, name, handler)
        for name, handler in router.handlers.items()
    )
    return {signature.subject: signature for signature in found}


def event_publications(service: str) -> list[Publication]:
    """The domain events ``service`` owns, as declared in the contracts."""
    return [
        Publication(
            subject=subjects.events_of(service, data.event_type, "{tenant_id}"),
            payload=CloudEvent[data],  # type: ignore[valid-type]
            title=cloud_type,
            description=(data.__doc__ or "").strip() or None,
        )
        for cloud_type, data in sorted(registered_events().items())
        if data.service == service
    ]


class _Success(BaseModel):
    data: Any
    status: int | None = None


def _reply_schema(reply: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    """JSON schema of the reply envelope: ``{"data": <reply>, "status"?}`` or ``{"error": {...}}``."""
    data_schema = TypeAdapter(reply).json_schema(mode="serialization", ref_template=SCHEMA_REF)
    error_schema = TypeAdapter(ErrorBody).json_schema(mode="serialization", ref_template=SCHEMA_REF)
    for schema in (data_schema, error_schema):
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
    schemas.setdefault("ErrorBody", error_schema)
    return {
        "oneOf": [
            {
                "type": "object",
                "title": "Success",
                "required": ["data"],
                "properties": {
                    "data": data_schema,
                    "status": {
                        "type": "integer",
                        "description": "HTTP status the gateway answers, when not the route's",
                    },
                },
            },
            {
                "type": "object",
                "title": "Failure",
                "required": ["error"],
                "properties": {"error": {"$ref": SCHEMA_REF.format(model="ErrorBody")}},
            },
        ]
    }


def _add_replies(document: dict[str, Any], signatures: Iterable[RpcSignature]) -> None:
    channels = document.setdefault("channels", {})
    operations = document.setdefault("operations", {})
    components = document.setdefault("components", {})
    messages = components.setdefault("messages", {})
    schemas = components.setdefault("schemas", {})
    for signature in signatures:
        reply_channel = f"{signature.subject}:reply"
        message = f"{signature.subject}:ReplyMessage"
        messages[message] = {
            "title": message,
            "payload": _reply_schema(signature.reply, schemas),
        }
        channels[reply_channel] = {
            "address": None,
            "description": f"The reply to {signature.subject}, sent to the request's inbox.",
            "messages": {"ReplyMessage": {"$ref": f"#/components/messages/{message}"}},
        }
        operation = operations.get(signature.subject)
        if operation is not None:
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{reply_channel}"},
                "messages": [{"$ref": f"#/channels/{reply_channel}/messages/ReplyMessage"}],
            }


def asyncapi_document(
    runtime: ServiceRuntime,
    *,
    title: str,
    version: str,
    description: str | None = None,
    publications: Iterable[Publication] = (),
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``runtime``'s process (built, not started)."""
    broker = NatsBroker(DOCUMENTED_SERVER)
    for router in runtime.routers:
        broker.include_router(router)
    for publication in publications:
        broker.publisher(
            publication.subject,
            title=publication.title,
            description=publication.description,
            schema=publication.payload,
        )
    specification = AsyncAPI(broker, title=title, version=version, description=description)
    document: dict[str, Any] = json.loads(specification.to_specification().to_json())
    _add_replies(document, rpc_signatures(runtime.rpc_router).values())
    return document


def render(document: dict[str, Any]) -> str:
    """Stable text of a document: sorted keys, two-space indent, a final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
