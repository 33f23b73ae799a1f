"""What every request gets before any route sees it: an id, a body-size cap, a client IP, metrics.

:class:`RequestContext` is a plain ASGI middleware (no per-request task, no
buffering, so server-sent events stream through untouched).
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Sequence

import structlog
from opentelemetry.trace import SpanKind
from prometheus_client import Counter, Histogram
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentbus_gateway.problems import REQUEST_ID_HEADER, problem_response
from agentbus_shared.errors import PayloadTooLarge
from agentbus_shared.ids import new_id
from agentbus_shared.metrics import LATENCY_BUCKETS
from agentbus_shared.telemetry import extract_trace_context, tracer

HTTP_REQUESTS = Counter(
    "agentbus_http_requests_total",
    "HTTP requests answered by the gateway, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "agentbus_http_request_seconds",
    "Time to answer an HTTP request (to the end of the body; whole stream for SSE).",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def request_id_from(raw: str | None) -> str:
    """The client's ``X-Request-ID`` when it is a sane value, a fresh id otherwise."""
    if raw and _SANE_REQUEST_ID.match(raw):
        return raw
    return new_id("req")


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The caller's address: the peer, unless the peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (the
    hop nearest to us) and the first address that is not a trusted proxy is
    the client; anything further left was written by the client and is not
    believed.
    """
    peer = peer or "unknown"
    if not trusted or not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _is_ip(hop) else peer
    return hops[0] if hops and _is_ip(hops[0]) else peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


class RequestContext:
    """Request id in and out, client IP, body-size limit, request metrics by route template."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, trusted_proxies: Sequence[Network] = ()
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.trusted_proxies = list(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        request_id = request_id_from(headers.get("x-request-id"))
        peer = scope.get("client")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_ip"] = client_ip(
            peer[0] if peer else None, headers.get("x-forwarded-for"), self.trusted_proxies
        )
        started = time.perf_counter()
        status = 500
        id_header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = list(message.get("headers", []))
                if not any(name.lower() == id_header[0] for name, _ in response_headers):
                    response_headers.append(id_header)
                message["headers"] = response_headers
            await send(message)

        span_context = extract_trace_context(headers) if "traceparent" in headers else None
        try:
            with (
                structlog.contextvars.bound_contextvars(request_id=request_id),
                tracer().start_as_current_span(
                    f"HTTP {scope['method']}", context=span_context, kind=SpanKind.SERVER
                ) as span,
            ):
                declared = headers.get("content-length")
                if declared is not None:
                    if (
                        not (declared.isascii() and declared.isdigit())
                        or int(declared) > self.max_body_bytes
                    ):
                        await _reject_too_large(scope, receive, send_with_id)
                        return
                elif "transfer-encoding" in headers:
                    buffered = await self._read_capped(receive)
                    if buffered is None:
                        await _reject_too_large(scope, receive, send_with_id)
                        return
                    receive = _replay(buffered, receive)
                await self.app(scope, receive, send_with_id)
                if span.is_recording():
                    template = getattr(scope.get("route"), "path", None) or "unmatched"
                    span.update_name(f"{scope['method']} {template}")
                    span.set_attribute("http.response.status_code", status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_SECONDS.labels(method, template).observe(time.perf_counter() - started)

    async def _read_capped(self, receive: Receive) -> bytes | None:
        """A body of unannounced length, read whole; ``None`` once it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that hands out ``body`` once, then whatever the connection says next."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reject_too_large(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_response(PayloadTooLarge(), Request(scope, receive))
    await response(scope, receive, send)


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
