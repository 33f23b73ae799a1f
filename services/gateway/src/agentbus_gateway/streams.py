"""The streaming routes: a chat run's frames, a tenant's billing events and its live activity
feed, as SSE.

Chat (``POST /api/v1/chat/stream``): pick a ``stream_id``, subscribe to
``streams.chat.<stream_id>`` *first*, then request ``rpc.chat.v1.stream.start``;
an error from chat (quota, entitlement, validation) is answered as a problem
before any event is sent. Frames are relayed as ``id: <seq>``, ``event:
<event>``, ``data: <json>`` until the one terminal ``final`` or ``error``. A
client that leaves only ends the relay: the run goes on in chat and is saved. A
silent stream's run is checked on (:class:`~agentbus_gateway.runs.RunWatch`);
a lost run ends the stream with ``error`` ``run_lost``.

Billing (``GET /api/v1/billing/stream``): a core subscription to
``events.billing.<tenant_id>.>``; each CloudEvent is relayed whole as an SSE
event named by its event type (``subscription.changed``, ``invoice.changed``,
``usage.threshold``, …) with the event id as SSE ``id``.

Activity (``GET /api/v1/activity/stream``): core subscriptions to the feed subjects the caller
may see (:func:`activity_feed_subjects`); each new item is relayed as ``activity.item`` with the
item id as SSE ``id``, once even when it arrives on two of them.

Every stream opens through :meth:`StreamRoutes._open`, which takes its slot,
subscribes and puts it under the watch of :mod:`lifetimes`: no stream outlives
its access token or its session.
"""

import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_args

from fastapi import APIRouter, Depends
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Gauge
from pydantic import BaseModel, ConfigDict, ValidationError

from agentbus_gateway.guard import AccessPolicy, Admission, Guard
from agentbus_gateway.lifetimes import SESSION_REVOKED, TOKEN_EXPIRED, SessionEnds
from agentbus_gateway.limits import StreamSlots
from agentbus_gateway.openapi import error_statuses, problem_responses, security
from agentbus_gateway.runs import RunWatch
from agentbus_gateway.sse import EventStreamResponse, Inbox, SseEvent, relay
from agentbus_gateway.suspension import suspendable_tenant
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts import chat, subjects
from agentbus_shared.contracts.activity import sees_admins_items
from agentbus_shared.contracts.common import Principal, Scope
from agentbus_shared.contracts.events import EventRef
from agentbus_shared.errors import AgentbusError, BadRequest, ServiceUnavailable
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

_Message = TypeVar("_Message", bound=BaseModel)

OPEN_STREAMS = Gauge(
    "agentbus_gateway_open_streams", "Server-sent event streams open now, by kind.", ["kind"]
)

_LIFETIME_DOC = (
    f" Every stream ends with an `error` event `{TOKEN_EXPIRED}` when its access token expires "
    f"and `{SESSION_REVOKED}` as soon as its session ends (logout, password reset, role change, "
    "removal from the tenant, a revoked service account): open a new stream with a fresh token."
)

CHAT_POLICY = AccessPolicy(access="principal", scopes=(Scope.CONVERSATIONS_WRITE,))
BILLING_POLICY = AccessPolicy(access="principal", scopes=(Scope.BILLING_READ,))
# A feed is a person's (read and dismissed are theirs): service accounts are refused, as by the
# feed's other routes.
ACTIVITY_POLICY = AccessPolicy(access="user", scopes=(Scope.TENANT_READ,))

ACTIVITY_ITEM = "activity.item"
"""The SSE event of one new feed item."""
RECENT_ITEMS = 64
"""Item ids a feed stream remembers to relay an item heard on two subjects once."""


def _sse_doc(
    description: str, event: dict[str, Any], headers: dict[str, Any] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of a stream. OpenAPI 3.1 has ``schema`` of ``text/event-stream`` describe
    one event (``id``, ``event``, ``data`` as parsed from its fields; 3.2 calls it
    ``itemSchema``); ``data`` is a JSON document, described in words."""
    return {
        200: {
            "description": description,
            **({"headers": headers} if headers else {}),
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "required": ["event", "data"],
                        "properties": {
                            "id": {"type": "string"},
                            "event": event,
                            "data": {"type": "string", "contentMediaType": "application/json"},
                            "retry": {"type": "integer"},
                        },
                    }
                }
            },
        }
    }


_CHAT_SSE_DOC = _sse_doc(
    "The run's frames as server-sent events, ending with `final` or `error`. `data` by event: "
    "conversation `{conversation_id, stream_id}`, agent `{name}`, delta `{text}`, tool_call "
    "`{call_id, name, arguments}`, tool_result `{call_id, output}`, handoff `{from, to}`, final "
    "`{output, agent, usage}`, error `{code, message}`. `id` is the frame's sequence number."
    + _LIFETIME_DOC
    + " The run itself goes on and is saved in the conversation.",
    {"type": "string", "enum": list(get_args(chat.FrameEvent))},
    {
        "X-Stream-ID": {
            "description": "The run's stream id (to cancel it)",
            "schema": {"type": "string"},
        }
    },
)
_BILLING_SSE_DOC = _sse_doc(
    "The tenant's billing events as server-sent events, until the client leaves. `event` is "
    "the event type (`subscription.changed`, `invoice.changed`...), `data` its CloudEvent, `id` "
    "the CloudEvent id; comment lines are heartbeats."
    + _LIFETIME_DOC
    + " `error` `{code, message}` is the last event of a stream the gateway ends.",
    {"type": "string", "pattern": r"^[a-z_]+(\.[a-z_]+)*$"},
)
_ACTIVITY_SSE_DOC = _sse_doc(
    "New items of the tenant's activity feed as server-sent events, until the client leaves: "
    f"`{ACTIVITY_ITEM}` with `data` an `ActivityItem` (as `GET /api/v1/activity` lists them) and "
    "`id` the item id. The caller hears the items every member may see; owners and admins also "
    "those for admins, and each person the items about themselves. What a caller hears is fixed "
    "when the stream opens (a role change ends it, see below); comment lines are heartbeats."
    + _LIFETIME_DOC
    + " `error` `{code, message}` is the last event of a stream the gateway ends.",
    {"type": "string", "enum": [ACTIVITY_ITEM, "error"]},
)


def _read(model: type[_Message], msg: Msg, what: str) -> _Message | None:
    """``msg`` read as ``model``; ``None`` (and a warning ``what``) when it is malformed."""
    try:
        return model.model_validate_json(msg.data)
    except ValidationError:
        log.warning(what, subject=msg.subject, size=len(msg.data))
        return None


def chat_frame_event(msg: Msg) -> SseEvent | None:
    """The SSE event of one chat frame; a malformed frame is skipped (and logged)."""
    frame = _read(chat.StreamFrame, msg, "stream.bad_frame")
    if frame is None:
        return None
    return SseEvent(frame.event, frame.data, id=str(frame.seq), terminal=frame.terminal)


def billing_event(prefix: str) -> Callable[[Msg], SseEvent | None]:
    def to_event(msg: Msg) -> SseEvent | None:
        ref = _read(EventRef, msg, "stream.bad_event")
        if ref is None:
            return None
        return SseEvent(msg.subject.removeprefix(prefix), msg.data, id=ref.id)

    return to_event


class _FeedItemRef(BaseModel):
    """What the gateway reads of a live feed item: its id (the rest is relayed as published)."""

    model_config = ConfigDict(extra="ignore")

    id: str


def activity_feed_subjects(principal: Principal) -> tuple[str, ...]:
    """The live feed subjects ``principal`` may hear: the members' items, the admins' items for
    an owner or admin, and the items about themselves. Raises ``ValueError`` for ids that cannot
    be subject tokens."""
    tenant = principal.tenant_id
    audiences: list[subjects.ActivityAudience] = ["members"]
    if sees_admins_items(principal.roles):
        audiences.append("admins")
    return (
        *(subjects.activity_feed(tenant, audience) for audience in audiences),
        subjects.activity_feed_of_user(tenant, principal.user_id),
    )


def activity_item_event() -> Callable[[Msg], SseEvent | None]:
    """The SSE event of each new feed item, once: an item about an admin reaches them on the
    admins' subject and their own. A malformed item is skipped (and logged)."""
    recent: deque[str] = deque(maxlen=RECENT_ITEMS)

    def to_event(msg: Msg) -> SseEvent | None:
        item = _read(_FeedItemRef, msg, "stream.bad_feed_item")
        if item is None or item.id in recent:
            return None
        recent.append(item.id)
        return SseEvent(ACTIVITY_ITEM, msg.data, id=item.id)

    return to_event


@dataclass(frozen=True)
class OpenStream:
    """A stream holding its slot and subscription, under watch: ``tick`` with each heartbeat,
    ``close`` once it has ended."""

    tick: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]


class StreamRoutes:
    def __init__(
        self,
        *,
        guard: Guard,
        rpc: RpcClient,
        connection: Callable[[], NatsClient],
        slots: StreamSlots,
        feed_slots: StreamSlots,
        session_ends: SessionEnds,
        heartbeat: float,
        queue_size: int,
        idle_timeout: float,
        start_timeout: float,
        run_check: float = 5.0,
    ) -> None:
        self._rpc = rpc
        self._connection = connection
        self._slots = slots
        self._feed_slots = feed_slots
        self._session_ends = session_ends
        self._heartbeat = heartbeat
        self._queue_size = queue_size
        self._idle_timeout = idle_timeout
        self._start_timeout = start_timeout
        self._run_check = run_check
        self.router = APIRouter(tags=["streams"])
        chat_admission = Annotated[Admission, Depends(guard.dependency(CHAT_POLICY))]

        @self.router.post(
            "/api/v1/chat/stream",
            summary="Send a message and stream the run as server-sent events",
            operation_id="chat.stream",
            response_class=EventStreamResponse,
            status_code=200,
            responses={
                **_CHAT_SSE_DOC,
                **problem_responses(*error_statuses(authenticated=True, has_input=True), 402),
            },
            openapi_extra={"security": security(True), "x-scopes": list(CHAT_POLICY.scopes)},
        )
        async def chat_stream(
            body: chat.ChatRequest, admission: chat_admission
        ) -> EventStreamResponse:
            return await self.chat(body, admission)

        self._token_only_stream(
            guard,
            "/api/v1/billing/stream",
            summary="The tenant's billing events as server-sent events",
            operation_id="billing.stream",
            doc=_BILLING_SSE_DOC,
            policy=BILLING_POLICY,
            open_stream=self.billing,
        )
        self._token_only_stream(
            guard,
            "/api/v1/activity/stream",
            summary="New items of the tenant's activity feed as server-sent events",
            operation_id="activity.stream",
            doc=_ACTIVITY_SSE_DOC,
            policy=ACTIVITY_POLICY,
            open_stream=self.activity,
        )

    def _token_only_stream(
        self,
        guard: Guard,
        path: str,
        *,
        summary: str,
        operation_id: str,
        doc: dict[int | str, dict[str, Any]],
        policy: AccessPolicy,
        open_stream: Callable[[Admission], Awaitable[EventStreamResponse]],
    ) -> None:
        """Declare ``GET path``: a stream that takes no input but the token ``policy`` admits."""
        admission = Annotated[Admission, Depends(guard.dependency(policy))]

        @self.router.get(
            path,
            summary=summary,
            operation_id=operation_id,
            response_class=EventStreamResponse,
            status_code=200,
            responses={
                **doc,
                **problem_responses(*error_statuses(authenticated=True, has_input=False)),
            },
            openapi_extra={"security": security(True), "x-scopes": list(policy.scopes)},
        )
        async def stream(admitted: admission) -> EventStreamResponse:
            return await open_stream(admitted)

    async def chat(self, body: chat.ChatRequest, admission: Admission) -> EventStreamResponse:
        principal = admission.caller
        stream_id = new_id("stm")
        inbox = Inbox(self._queue_size)
        stream = await self._open(
            "chat",
            stream_id,
            (subjects.chat_stream(stream_id),),
            inbox,
            admission,
            slots=self._slots,
        )
        try:
            await self._rpc.call(
                chat.SERVICE,
                chat.Operation.STREAM_START,
                chat.StreamStart(**body.model_dump(), stream_id=stream_id),
                principal=principal,
                meta=admission.meta,
                timeout=self._start_timeout,
            )
        except BaseException:
            await stream.close()
            raise
        return EventStreamResponse(
            relay(
                inbox,
                chat_frame_event,
                heartbeat=self._heartbeat,
                idle_timeout=self._idle_timeout,
                on_tick=stream.tick,
                on_silence=RunWatch(
                    self._rpc,
                    admission,
                    stream_id,
                    run_check=self._run_check,
                    rpc_timeout=self._start_timeout,
                ).silence,
                silence_check=self._run_check,
            ),
            on_close=stream.close,
            headers={**admission.rate_headers, "X-Stream-ID": stream_id},
        )

    async def billing(self, admission: Admission) -> EventStreamResponse:
        tenant = admission.caller.tenant_id
        try:
            subject = subjects.event("billing", tenant, ">")
        except ValueError:
            raise BadRequest("The token's tenant cannot be streamed.") from None
        to_event = billing_event(subject.removesuffix(">"))
        return await self._relay("billing", (subject,), to_event, admission, slots=self._slots)

    async def activity(self, admission: Admission) -> EventStreamResponse:
        """The caller's live feed. Its slots are apart from the other streams': every signed-in
        page holds one, and it must not leave a person or their team unable to chat."""
        try:
            feed = activity_feed_subjects(admission.caller)
        except ValueError:
            raise BadRequest("The token's tenant cannot be streamed.") from None
        return await self._relay(
            "activity", feed, activity_item_event(), admission, slots=self._feed_slots
        )

    async def _relay(
        self,
        kind: str,
        feed: Sequence[str],
        to_event: Callable[[Msg], SseEvent | None],
        admission: Admission,
        *,
        slots: StreamSlots,
    ) -> EventStreamResponse:
        """A stream relaying what ``feed`` carries (``to_event`` of each message) until the client
        leaves or the stream's lifetime ends."""
        stream_id = new_id("stm")
        inbox = Inbox(self._queue_size)
        stream = await self._open(kind, stream_id, feed, inbox, admission, slots=slots)
        return EventStreamResponse(
            relay(inbox, to_event, heartbeat=self._heartbeat, on_tick=stream.tick),
            on_close=stream.close,
            headers=dict(admission.rate_headers),
        )

    async def _open(
        self,
        kind: str,
        stream_id: str,
        feed: Sequence[str],
        inbox: Inbox,
        admission: Admission,
        *,
        slots: StreamSlots,
    ) -> OpenStream:
        """Take a stream slot of ``slots``, subscribe to each subject of ``feed`` into one inbox,
        and watch the stream's lifetime (its token's expiry, its session); ``close`` undoes all
        three."""
        principal = admission.caller
        assert admission.token_accepted_until is not None, "streams need a token"
        owner = {"user": principal.subject, "tenant": principal.tenant_id}
        await slots.acquire(stream_id, **owner)
        subscriptions: list[Subscription] = []
        try:
            connection = self._connection()
            # One by one, so that a failure still removes the subscriptions already made.
            for subject in feed:
                subscriptions.append(await connection.subscribe(subject, cb=inbox.put))  # noqa: PERF401
            # Once the client has its 200, events published from any connection must reach us.
            await connection.flush(timeout=2)
        except BaseException as exc:
            await _unsubscribe(subscriptions)
            await slots.release(stream_id, **owner)
            if isinstance(exc, Exception) and not isinstance(exc, AgentbusError):
                raise ServiceUnavailable("The message bus is unavailable.", retry_after=2) from exc
            raise
        lifetime = self._session_ends.watch(
            inbox,
            session_id=principal.session_id,
            until=admission.token_accepted_until,
            tenant_id=suspendable_tenant(principal),
        )
        OPEN_STREAMS.labels(kind).inc()
        closed = False

        async def tick() -> None:
            await slots.renew(stream_id, **owner)
            await lifetime.recheck()

        async def close() -> None:
            nonlocal closed
            if closed:
                return
            closed = True
            lifetime.release()
            OPEN_STREAMS.labels(kind).dec()
            await _unsubscribe(subscriptions)
            await slots.release(stream_id, **owner)

        return OpenStream(tick=tick, close=close)


async def _unsubscribe(subscriptions: Sequence[Subscription]) -> None:
    """Remove each subscription; one that fails (the connection is gone) does not keep the
    others."""
    for subscription in subscriptions:
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
