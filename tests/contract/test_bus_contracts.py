"""Every payload the running services put on the bus matches the contract of its subject.

The flow (``flow.py``) drives the system over HTTP while every message on ``>`` is recorded.
Each payload must validate against the model its subject maps to in ``agentbus_shared.contracts``
(for RPC: the request and reply types of the operation's handler, which come from the
contracts), and parsing it with the consumer's model and serialising it again must give the
same JSON: a field the producer adds, renames or retypes fails here, not in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
from contract_capture import Captured
from contract_support import Recording
from pydantic import BaseModel, TypeAdapter, ValidationError

from agentbus_shared.apidocs import RpcSignature, rpc_signatures
from agentbus_shared.bus import headers
from agentbus_shared.contracts import ROUTES, Principal, chat, subjects
from agentbus_shared.contracts.activity import ActivityItem
from agentbus_shared.contracts.billing import Entitlements
from agentbus_shared.contracts.chat import TERMINAL_EVENTS, StreamFrame
from agentbus_shared.contracts.events import CloudEvent, event_class, registered_events
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.errors import ErrorBody
from agentbus_shared.testing.checkout import api_docs_generator

pytestmark = [pytest.mark.contract, pytest.mark.timeout(300)]

ROUTE_STATUSES = {route.subject: {route.status, *route.extra_statuses} for route in ROUTES}
"""The success statuses each public route declares (a reply's ``status`` must be one of them)."""

NOT_EXERCISED = {
    "rpc.billing.v1.entitlements.get": "chat's fallback when a tenant has no key in the "
    "ENTITLEMENTS bucket; billing writes the key when the tenant is created, before any chat",
    "rpc.gateway.v1.ping": "every process answers ping on the bus, but only the services are "
    "pinged (by the gateway's readiness); the gateway's own readiness is its HTTP endpoint",
    "rpc.activity.v1.ping": "the gateway's readiness pings only the services in "
    "GATEWAY_TUNING__SERVICES (auth, chat and billing): the activity feed being down answers its "
    "own routes 503 rather than take the whole API out of service",
    "rpc.chat.v1.stream.status": "the gateway asks only when a chat stream stays silent for "
    "GATEWAY_TUNING__SSE_RUN_CHECK seconds; the flow's runs never do (tests/fault/test_chat_crash.py "
    "kills chat mid-stream to exercise it)",
}
"""Operations and event types the flow does not produce, each with the reason."""

FRAME_FIELDS: dict[str, set[str]] = {
    "conversation": {"conversation_id", "stream_id"},
    "agent": {"name"},
    "delta": {"text"},
    "tool_call": {"call_id", "name", "arguments"},
    "tool_result": {"call_id", "output"},
    "handoff": {"from", "to"},
    "final": {"output", "agent", "usage"},
    "error": {"code", "message"},
}
"""The ``data`` of each frame, as API.md and :class:`StreamFrame` describe it."""


@pytest.fixture(scope="module")
def operations() -> dict[str, RpcSignature]:
    """Every RPC operation of every service, with the models of its handler's signature."""
    found: dict[str, RpcSignature] = {}
    for runtime in api_docs_generator().build_runtimes().values():
        found.update(rpc_signatures(runtime.rpc_router))
    return found


def round_trip(adapter: TypeAdapter[Any], raw: bytes, **dump: Any) -> tuple[Any, Any]:
    """(what the producer sent, what the consumer's model makes of it when serialised again)."""
    parsed = adapter.validate_json(raw)
    return json.loads(raw), adapter.dump_python(parsed, mode="json", **dump)


def survivors(
    messages: list[Captured], model: type[BaseModel], problems: list[str]
) -> Iterator[tuple[Captured, dict[str, Any]]]:
    """Each message that is a ``model`` (with what it carries), after noting in ``problems`` the
    ones that are not or do not survive a round trip through it."""
    for message in messages:
        try:
            sent, accepted = round_trip(TypeAdapter(model), message.data)
        except ValidationError as exc:
            problems.append(f"{message.subject}: {exc}")
            continue
        if sent != accepted:
            problems.append(f"{message.subject}: does not survive a round trip: {sent}")
        yield message, sent


def rpc_requests(recording: Recording) -> list[Captured]:
    return [m for m in recording.messages if m.subject.startswith("rpc.")]


def rpc_request_problems(recording: Recording, operations: dict[str, RpcSignature]) -> list[str]:
    """Each request validates as its operation's request model and reads back the same."""
    problems = []
    for message in rpc_requests(recording):
        signature = operations.get(message.subject)
        if signature is None:
            problems.append(f"{message.subject}: no service serves this operation")
            continue
        if signature.request is None:
            if message.json() not in ({}, None):
                problems.append(f"{message.subject}: takes no body, got {message.data!r}")
            continue
        adapter = TypeAdapter(signature.request)
        try:
            sent, accepted = round_trip(adapter, message.data, exclude_unset=True)
        except ValidationError as exc:
            problems.append(f"{message.subject}: {exc}")
            continue
        if sent != accepted:
            problems.append(f"{message.subject}: sent {sent}, the handler reads {accepted}")
    return problems


def principal_problems(recording: Recording) -> list[str]:
    """The caller's principal travels in its header as a Principal (unknown fields are refused)
    that reads back equal (scopes are a set: compared as models, not as JSON text)."""
    problems, carried = [], 0
    for message in rpc_requests(recording):
        raw = message.headers.get(headers.PRINCIPAL)
        if raw is None:
            continue
        carried += 1
        try:
            principal = Principal.model_validate_json(raw)
        except ValidationError as exc:
            problems.append(f"{message.subject}: principal header: {exc}")
            continue
        if Principal.model_validate_json(principal.model_dump_json()) != principal:
            problems.append(f"{message.subject}: principal {raw} does not read back equal")
    return problems if carried else ["no request carried a principal"]


def rpc_reply_problems(recording: Recording, operations: dict[str, RpcSignature]) -> list[str]:
    """Each reply is an envelope: an error body, or data of the handler's return type."""
    replies = {m.subject: m for m in recording.messages if m.subject.startswith("_INBOX")}
    problems, answered = [], 0
    for request in rpc_requests(recording):
        reply = replies.get(request.reply)
        signature = operations.get(request.subject)
        if reply is None or signature is None:
            problems.append(f"{request.subject}: no reply recorded")
            continue
        answered += 1
        envelope = reply.json()
        if "error" in envelope:
            try:
                ErrorBody.model_validate(envelope["error"])
            except ValidationError as exc:
                problems.append(f"{request.subject}: malformed error envelope: {exc}")
            continue
        if set(envelope) - {"data", "status"} or "data" not in envelope:
            problems.append(f"{request.subject}: not a reply envelope: {envelope}")
            continue
        adapter = TypeAdapter(signature.reply)
        try:
            data = adapter.validate_python(envelope["data"])
        except ValidationError as exc:
            problems.append(f"{request.subject}: reply data is not {signature.reply}: {exc}")
            continue
        if adapter.dump_python(data, mode="json") != envelope["data"]:
            problems.append(f"{request.subject}: reply data does not survive a round trip")
        allowed = ROUTE_STATUSES.get(request.subject)
        if "status" in envelope and allowed is not None and envelope["status"] not in allowed:
            problems.append(
                f"{request.subject}: answers {envelope['status']}, its route allows {allowed}"
            )
    if answered < 60:
        problems.append(f"only {answered} RPC replies recorded")
    return problems


def event_problems(recording: Recording) -> list[str]:
    """Each event is a CloudEvent of its type's data model, on its subject, keyed by its id."""
    events = [m for m in recording.messages if m.subject.startswith("events.")]
    problems = []
    for message in events:
        raw = message.json()
        data_type = event_class(raw.get("type", ""))
        if data_type is None:
            problems.append(f"{message.subject}: no contract for type {raw.get('type')!r}")
            continue
        adapter: TypeAdapter[CloudEvent[Any]] = TypeAdapter(CloudEvent[data_type])  # type: ignore[valid-type]
        try:
            sent, accepted = round_trip(adapter, message.data, exclude_none=True)
        except ValidationError as exc:
            problems.append(f"{message.subject}: {exc}")
            continue
        event = adapter.validate_json(message.data)
        if sent != accepted:
            problems.append(f"{message.subject}: sent {sent}, consumers read {accepted}")
        if message.subject != event.nats_subject:
            problems.append(f"{message.subject}: the envelope belongs on {event.nats_subject}")
        if message.headers.get("Nats-Msg-Id") != event.id:
            problems.append(f"{message.subject}: Nats-Msg-Id is not the event id {event.id}")
    return problems if events else ["no event recorded"]


def frame_problems(recording: Recording) -> list[str]:
    """Frames are StreamFrames with the documented data, numbered, opened and closed once."""
    problems: list[str] = []
    by_stream: dict[str, list[StreamFrame]] = {}
    frames = [m for m in recording.messages if m.subject.startswith("streams.chat.")]
    for message, sent in survivors(frames, StreamFrame, problems):
        frame = StreamFrame.model_validate(sent)
        if set(frame.data) != FRAME_FIELDS[frame.event]:
            problems.append(f"{message.subject}: {frame.event} frame with data {frame.data}")
        by_stream.setdefault(message.subject, []).append(frame)
    if subjects.chat_stream(recording.outcome["stream_id"]) not in by_stream:
        problems.append("the flow's stream published no frame")
    for subject, frames in by_stream.items():
        if [f.seq for f in frames] != list(range(1, len(frames) + 1)):
            problems.append(f"{subject}: seq is not 1, 2, 3...: {[f.seq for f in frames]}")
        if frames[0].event != "conversation" or frames[0].data.get(
            "stream_id"
        ) != subject.removeprefix("streams.chat."):
            problems.append(f"{subject}: does not open with its conversation frame")
        if [f.event for f in frames if f.event in TERMINAL_EVENTS] != [frames[-1].event]:
            problems.append(f"{subject}: not exactly one terminal frame, last")
    return problems


def live_feed_problems(recording: Recording) -> list[str]:
    """Live feed items are ActivityItems, new (unread, not dismissed), on their audience's subject."""
    problems: list[str] = []
    live = [m for m in recording.messages if m.subject.startswith("activity.feed.")]
    for message, sent in survivors(live, ActivityItem, problems):
        if sent["read"] or sent["dismissed"]:
            problems.append(f"{message.subject}: a new item already read or dismissed: {sent}")
        audience = "members" if message.subject.endswith(".members") else "admins"
        if sent["audience"] != audience:
            problems.append(f"{message.subject}: carries an item for {sent['audience']}")
    members = subjects.activity_feed(recording.outcome["tenant_id"], "members")
    if not any(m.subject == members for m in live):
        problems.append("the flow's tenant got no live feed item")
    return problems


def entitlement_problems(recording: Recording) -> list[str]:
    """Entries of the ENTITLEMENTS bucket are Entitlements, under their tenant's key."""
    prefix = f"$KV.{ENTITLEMENTS.name}."
    entries = [m for m in recording.messages if m.subject.startswith(prefix) and m.data]
    problems: list[str] = []
    for message, sent in survivors(entries, Entitlements, problems):
        if sent["tenant_id"] != message.subject.removeprefix(prefix):
            problems.append(f"{message.subject}: holds the entitlements of {sent['tenant_id']}")
    if not any(m.subject == prefix + recording.outcome["tenant_id"] for m in entries):
        problems.append("the flow's tenant got no entitlements entry")
    return problems


def webhook_problems(recording: Recording) -> list[str]:
    """Stripe events travel whole, on their type's subject, keyed by the Stripe event id."""
    webhooks = [m for m in recording.messages if m.subject.startswith("stripe.webhooks.")]
    problems = [
        f"{message.subject}: carries {event.get('type')} / Nats-Msg-Id "
        f"{message.headers.get('Nats-Msg-Id')} for event {event.get('id')}"
        for message in webhooks
        if (event := message.json())
        and (
            message.subject != subjects.stripe_webhook(event.get("type", ""))
            or message.headers.get("Nats-Msg-Id") != event.get("id")
        )
    ]
    if not any(m.subject == "stripe.webhooks.checkout.session.completed" for m in webhooks):
        problems.append("the completed checkout never reached the bus")
    return problems


def coverage_problems(recording: Recording, operations: dict[str, RpcSignature]) -> list[str]:
    """Every operation and event type was captured, or is listed in NOT_EXERCISED."""
    requested = {m.subject for m in rpc_requests(recording)}
    event_types = {m.json()["type"] for m in recording.messages if m.subject.startswith("events.")}
    missing = [
        name
        for name in [*operations, *registered_events()]
        if name not in requested and name not in event_types and name not in NOT_EXERCISED
    ]
    problems = [f"{name}: neither captured nor listed in NOT_EXERCISED" for name in missing]
    known = {*operations, *registered_events()}
    problems += [
        f"{name}: in NOT_EXERCISED but no contract has it"
        for name in NOT_EXERCISED
        if name not in known
    ]
    return problems


def test_every_captured_payload_matches_its_contract(
    recording: Recording, operations: dict[str, RpcSignature]
) -> None:
    """One test over one recording: a test per check would start a stack per xdist worker."""
    found = {
        "rpc request": rpc_request_problems(recording, operations),
        "principal": principal_problems(recording),
        "rpc reply": rpc_reply_problems(recording, operations),
        "event": event_problems(recording),
        "stream frame": frame_problems(recording),
        "live feed": live_feed_problems(recording),
        "entitlements": entitlement_problems(recording),
        "stripe webhook": webhook_problems(recording),
        "coverage": coverage_problems(recording, operations),
    }
    report = [f"[{kind}] {problem}" for kind, problems in found.items() for problem in problems]
    assert not report, "\n".join(report)


def test_request_models_come_from_the_contracts(operations: dict[str, RpcSignature]) -> None:
    """A handler's models are shared contracts, not a service's private copy of them."""
    for signature in operations.values():
        for model in (signature.request, signature.reply):
            if isinstance(model, type) and issubclass(model, BaseModel):
                assert model.__module__.startswith("agentbus_shared."), (signature.subject, model)


def test_every_route_forwards_to_an_operation_with_its_models(
    operations: dict[str, RpcSignature],
) -> None:
    """The gateway's payload (path, query and body merged) is the handler's request model, and
    the route's documented response is what the handler returns."""
    problems = []
    for route in ROUTES:
        signature = operations.get(route.subject)
        if signature is None:
            problems.append(f"{route.method} {route.path}: nothing serves {route.subject}")
            continue
        sent = {
            *re.findall(r"{(\w+)}", route.path),
            *(route.body.model_fields if route.body else ()),
            *(route.query.model_fields if route.query else ()),
            *(("run_ref",) if route.starts_chat_run else ()),  # the gateway names the run
        }
        if route.starts_chat_run:
            status = operations.get(f"rpc.{chat.SERVICE}.v1.{chat.Operation.STREAM_STATUS}")
            if status is None or status.request is None:
                problems.append(f"{route.subject}: nothing serves chat's stream.status")
            elif set(status.request.model_fields) != {"stream_id"}:
                problems.append(f"{route.subject}: stream.status does not take {{stream_id}}")
        read = set(signature.request.model_fields) if signature.request else set()
        if sent != read:
            problems.append(
                f"{route.subject}: the gateway sends {sorted(sent)}, reads {sorted(read)}"
            )
        replies = (
            get_args(signature.reply)
            if get_origin(signature.reply) in (Union, UnionType)
            else (signature.reply,)
        )
        if route.response is not None and route.response not in replies:
            problems.append(f"{route.subject}: documented {route.response}, returns {replies}")
    assert not problems, "\n".join(problems)
