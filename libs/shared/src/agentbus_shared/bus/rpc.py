"""Request-reply over NATS that never answers by timing out.

Server side: :class:`RpcRouter` registers a service's operations on
``rpc.<service>.v1.<operation>`` in the queue group ``<service>``; its
middleware turns every outcome into an envelope — ``{"data": ..., "status"?}``
on success, ``{"error": {...}}`` on a domain error, a validation error or a
crash — so the caller always gets an answer.

Client side: :class:`RpcClient` sends the caller's principal and request
metadata as headers, maps "no responders" to 503 and a timeout to 504 (both
with ``retry_after``), and raises the remote error for an error envelope.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Set
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import nats.errors
import structlog
from faststream import BaseMiddleware, Depends
from faststream._internal.context import Context  # the class; faststream.Context is a factory
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.message import NatsMessage
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_json, to_jsonable_python

from agentbus_shared.bus import headers as h
from agentbus_shared.bus.payloads import UndecodablePayload, decode_json
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.common import Principal, RequestMeta, require_principal
from agentbus_shared.errors import (
    AgentbusError,
    ErrorBody,
    GatewayTimeout,
    InternalError,
    ServiceUnavailable,
    ValidationFailed,
    error_from_body,
    validation_errors,
)
from agentbus_shared.logging import get_logger
from agentbus_shared.metrics import RPC_CALL_SECONDS, RPC_CALLS, RPC_HANDLE_SECONDS, RPC_HANDLED
from agentbus_shared.telemetry import extract_trace_context, inject_trace_headers, tracer
from agentbus_shared.unavailable import as_unavailable

if TYPE_CHECKING:
    from faststream.message import StreamMessage

log = get_logger(__name__)

T = TypeVar("T")
DEFAULT_WORKERS = 32


@dataclass(frozen=True)
class Reply(Generic[T]):
    """Return this from an operation to answer with a status other than the route's default."""

    data: T
    status: int


# ------------------------------------------------------------------ server side
class _LoopContext(Context):
    """FastStream's ``Context`` resolved on the event loop.

    FastDepends runs a custom field whose ``use`` is a plain method in a worker thread; for the
    message that every operation reads its caller from, that was a thread hand-off per call and
    about a quarter of a service's CPU per request (profiled under ``bench.gateway_forwarding``).
    """

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return super().use(**kwargs)


IncomingMessage = Annotated[NatsMessage, _LoopContext("message")]
"""The message being handled, for handlers that need its headers or JetStream metadata."""


async def _principal(message: IncomingMessage) -> Principal | None:
    return h.principal_from(message.headers)


async def _required_principal(message: IncomingMessage) -> Principal:
    return require_principal(h.principal_from(message.headers))


async def _meta(message: IncomingMessage) -> RequestMeta:
    return h.meta_from(message.headers)


OptionalPrincipal = Annotated[Principal | None, Depends(_principal)]
"""The verified caller, or ``None`` for a public operation."""

CallerPrincipal = Annotated[Principal, Depends(_required_principal)]
"""The verified caller; the operation answers 401 without one."""

Meta = Annotated[RequestMeta, Depends(_meta)]
"""Request id, client IP and user agent of the original HTTP request."""


async def decode_request(msg: StreamMessage[Any]) -> Any:
    """A request body as strict JSON, whatever its content type says; 422 when it is not.

    FastStream's own decoder passes undecodable bytes through and raises bare errors for
    invalid JSON or deep nesting (which the middleware would report as internal errors).
    """
    try:
        return decode_json(msg.body)
    except UndecodablePayload as exc:
        raise ValidationFailed(
            str(exc), details=[{"loc": [], "msg": str(exc), "type": "undecodable_body"}]
        ) from None


@dataclass(frozen=True)
class OperationAccess:
    """Who may call an operation, declared with it and checked before its handler runs.

    ``scopes``: every one is required (403 ``forbidden`` with ``missing_scopes``);
    ``user_only``: a person, not a service account (403). Either one requires a caller (401).
    """

    scopes: frozenset[str] = frozenset()
    user_only: bool = False

    @property
    def needs_caller(self) -> bool:
        return bool(self.scopes) or self.user_only

    def check(self, headers: Mapping[str, str]) -> None:
        if not self.needs_caller:
            return
        principal = require_principal(h.principal_from(headers))
        principal.require(*sorted(self.scopes))
        if self.user_only:
            principal.user_id  # noqa: B018 - raises Forbidden for a service account


def success_envelope(result: Any) -> dict[str, Any]:
    if isinstance(result, Reply):
        return {"data": to_jsonable_python(result.data), "status": result.status}
    return {"data": to_jsonable_python(result)}


def _rpc_middleware(service: str, access: Mapping[str, OperationAccess]) -> type[BaseMiddleware]:
    prefix = subjects.rpc_prefix(service)

    class RpcEnvelopeMiddleware(BaseMiddleware):
        async def consume_scope(
            self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
        ) -> Any:
            operation = msg.raw_message.subject.removeprefix(prefix)
            headers = msg.headers or {}
            started = time.perf_counter()
            outcome = "ok"
            with (
                structlog.contextvars.bound_contextvars(
                    request_id=headers.get(h.REQUEST_ID), operation=operation
                ),
                tracer().start_as_current_span(
                    f"rpc {service}.{operation}",
                    context=extract_trace_context(headers),
                    kind=SpanKind.SERVER,
                ),
            ):
                try:
                    access[operation].check(headers)
                    return success_envelope(await call_next(msg))
                except AgentbusError as exc:
                    outcome = "client_error" if exc.status < 500 else "server_error"
                    log.info("rpc.error", code=exc.code, status=exc.status)
                    return exc.to_envelope()
                except ValidationError as exc:
                    outcome = "client_error"
                    return ValidationFailed(
                        details=validation_errors(exc.errors(), drop_loc_prefix=1)
                    ).to_envelope()
                except Exception as exc:
                    outcome = "server_error"
                    unavailable = as_unavailable(exc)
                    if unavailable is not None:
                        # The database or Redis is away: the caller may retry shortly.
                        log.warning("rpc.dependency_unavailable", error=type(exc).__name__)
                        return unavailable.to_envelope()
                    log.exception("rpc.crashed")
                    return InternalError().to_envelope()
                finally:
                    RPC_HANDLED.labels(service, operation, outcome).inc()
                    RPC_HANDLE_SECONDS.labels(service, operation).observe(
                        time.perf_counter() - started
                    )

    return RpcEnvelopeMiddleware


class RpcRouter:
    """The RPC operations of one service. Include ``router`` in the service's broker."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.access: dict[str, OperationAccess] = {}
        """Who may call each operation (checked in the middleware, before the handler)."""
        self.router = NatsRouter(
            prefix=subjects.rpc_prefix(service),
            middlewares=[_rpc_middleware(service, self.access)],
        )
        self.operations: list[str] = []
        self.handlers: dict[str, Callable[..., Any]] = {}
        """The handler of each operation, whose signature is its contract (docs and tests read it)."""

    def operation(
        self,
        name: str,
        *,
        scopes: Set[str] = frozenset(),
        user_only: bool = False,
        max_workers: int = DEFAULT_WORKERS,
        description: str | None = None,
    ) -> Callable[[Callable[..., Any]], Any]:
        """Register ``rpc.<service>.v1.<name>``; the handler's signature is its contract.

        ``scopes`` and ``user_only`` say who may call it (:class:`OperationAccess`); they are checked
        here, once, so a handler never re-checks them.
        """
        self.operations.append(name)
        self.access[name] = OperationAccess(frozenset(scopes), user_only)
        subscriber = self.router.subscriber(
            name,
            queue=self.service,
            max_workers=max_workers,
            title=f"rpc.{self.service}.v1.{name}",
            decoder=decode_request,
            description=description,
        )

        def register(handler: Callable[..., Any]) -> Any:
            self.handlers[name] = handler
            return subscriber(handler)

        return register


# ------------------------------------------------------------------ client side
@dataclass(frozen=True)
class RpcReply:
    data: Any
    status: int | None = None


class RpcClient:
    """Calls other services' operations. One per process, over the process's broker."""

    def __init__(self, broker: NatsBroker, *, timeout: float = 5.0) -> None:
        self._broker = broker
        self._timeout = timeout

    async def call(
        self,
        service: str,
        operation: str,
        payload: BaseModel | dict[str, Any] | None = None,
        *,
        principal: Principal | None = None,
        meta: RequestMeta | None = None,
        timeout: float | None = None,
    ) -> RpcReply:
        """Request ``rpc.<service>.v1.<operation>``; return its data or raise its error.

        Raises ``ServiceUnavailable`` (503) when nobody serves the operation or
        the bus is down, ``GatewayTimeout`` (504) when no answer came in time,
        and the remote service's own error for an error envelope.
        """
        subject = subjects.rpc(service, operation)
        target = f"{service}.{operation}"
        headers = h.caller_headers(principal, meta)
        body = to_json(payload if payload is not None else {})
        started = time.perf_counter()
        outcome = "ok"
        try:
            with tracer().start_as_current_span(f"rpc {target}", kind=SpanKind.CLIENT):
                inject_trace_headers(headers)
                reply = await self._broker.connection.request(
                    subject, body, timeout=timeout or self._timeout, headers=headers
                )
            return _decode_reply(reply.data, target)
        except nats.errors.NoRespondersError:
            outcome = "no_responders"
            raise ServiceUnavailable(
                f"The {service} service is not available.", retry_after=1
            ) from None
        except (nats.errors.TimeoutError, TimeoutError):
            outcome = "timeout"
            raise GatewayTimeout(
                f"The {service} service did not answer in time.", retry_after=1
            ) from None
        except (
            nats.errors.ConnectionClosedError,
            nats.errors.ConnectionReconnectingError,
            nats.errors.StaleConnectionError,
            nats.errors.OutboundBufferLimitError,
        ):
            outcome = "bus_unavailable"
            raise ServiceUnavailable("The message bus is unavailable.", retry_after=2) from None
        except AgentbusError:
            outcome = "error"
            raise
        finally:
            RPC_CALLS.labels(target, outcome).inc()
            RPC_CALL_SECONDS.labels(target).observe(time.perf_counter() - started)

    async def request(
        self,
        service: str,
        operation: str,
        payload: BaseModel | dict[str, Any] | None,
        result: type[T] | Any,
        **kwargs: Any,
    ) -> T:
        """Like :meth:`call`, with the data validated as ``result``."""
        reply = await self.call(service, operation, payload, **kwargs)
        try:
            return TypeAdapter(result).validate_python(reply.data)  # type: ignore[no-any-return]
        except ValidationError as exc:
            log.error("rpc.bad_reply", target=f"{service}.{operation}", errors=exc.error_count())
            raise InternalError(
                f"The {service} service answered with an unexpected shape."
            ) from exc


_ENVELOPE = TypeAdapter(dict[str, Any])


def _decode_reply(raw: bytes, target: str) -> RpcReply:
    try:
        envelope = _ENVELOPE.validate_json(raw)
    except ValidationError:
        log.error("rpc.undecodable_reply", target=target, size=len(raw))
        raise InternalError("A service answered with an undecodable reply.") from None
    if "error" in envelope:
        try:
            raise error_from_body(ErrorBody.model_validate(envelope["error"]))
        except ValidationError:
            raise InternalError("A service answered with a malformed error.") from None
    if "data" not in envelope:
        log.error("rpc.unenveloped_reply", target=target)
        raise InternalError("A service answered without an envelope.")
    status = envelope.get("status")
    return RpcReply(envelope["data"], status if isinstance(status, int) else None)
