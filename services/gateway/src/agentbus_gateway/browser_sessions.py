"""Browser sessions: the auth routes' cookie mode, which the web app asks for with a header.

With ``X-Agentbus-Session: cookie`` on a request, a refresh token the answer carries (login,
MFA, register, invite acceptance, refresh) leaves the JSON body and travels only in an
``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` in production) sent back only to the
routes that take a refresh token or end the session. Those routes, in cookie mode, read the
token from the cookie and need a CSRF proof: an ``Origin`` of this site and ``X-CSRF-Token``
equal to :func:`csrf_token` of the cookie's refresh token, which the page reads from the
readable ``agentbus_csrf`` cookie (a forger can neither read it nor derive it). Logging out or
a refused refresh clears both cookies. Without the header every route works as for any API
client (docs/adr/gateway-browser-sessions.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any, Literal, TypeGuard, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentbus_gateway.problems import problem_response
from agentbus_shared.contracts.http import Route
from agentbus_shared.errors import AgentbusError, Forbidden, Unauthorized

SESSION_MODE_HEADER = "X-Agentbus-Session"
COOKIE_MODE = "cookie"
CSRF_HEADER = "X-CSRF-Token"
REFRESH_COOKIE = "agentbus_refresh"
CSRF_COOKIE = "agentbus_csrf"
HOST_ONLY_PREFIX = "__Host-"
SECURE_CSRF_COOKIE = f"{HOST_ONLY_PREFIX}{CSRF_COOKIE}"
"""The CSRF cookie's name in production: ``__Host-`` makes browsers refuse one set by a sibling
site (it must be ``Secure``, on ``Path=/``, without ``Domain``), so a tossed pair of another
session's cookies cannot pass the proof."""
REFRESH_FIELD = "refresh_token"


def csrf_token(refresh_token: str) -> str:
    """The CSRF proof that goes with a refresh token: only who can read the cookie can send it."""
    return hashlib.sha256(b"agentbus-csrf\0" + refresh_token.encode()).hexdigest()


def carries_refresh_token(model: type[BaseModel] | None) -> bool:
    """Whether ``model`` (a body or an answer) has a refresh token, at its top or one level down
    (``RegisterResult.tokens``)."""
    if model is None:
        return False
    for name, field in model.model_fields.items():
        nested = [t for t in (field.annotation, *get_args(field.annotation)) if _is_model(t)]
        if name == REFRESH_FIELD or any(REFRESH_FIELD in t.model_fields for t in nested):
            return True
    return False


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def cookie_mode_parameters(route: Route) -> list[dict[str, Any]]:
    """The OpenAPI header parameters of cookie mode on a session route; none on other routes."""
    spends, ends = carries_refresh_token(route.body), route.ends_session
    if not (spends or ends or carries_refresh_token(route.response)):
        return []
    mode = {
        "name": SESSION_MODE_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string", "enum": [COOKIE_MODE]},
        "description": "`cookie` (the web app): a refresh token travels only in the HttpOnly "
        f"`{REFRESH_COOKIE}` cookie, never in the body; `{CSRF_COOKIE}` "
        f"(`{SECURE_CSRF_COOKIE}` over HTTPS) is set beside it. "
        "Refresh then reads it from the cookie and logout clears both, each with "
        f"`{CSRF_HEADER}` and an `Origin` of this site.",
    }
    if not (spends or ends):
        return [mode]
    proof = {
        "name": CSRF_HEADER,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": f"In cookie mode: the value of the `{CSRF_COOKIE}` cookie "
        f"(`{SECURE_CSRF_COOKIE}` over HTTPS).",
    }
    return [mode, proof]


def document_cookie_mode(document: dict[str, Any]) -> None:
    """Mark every documented refresh token of an answer as absent in cookie mode (API clients
    always get it; request bodies keep requiring it)."""
    bodies = _request_body_schemas(document)
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        if name in bodies:
            continue
        token = schema.get("properties", {}).get(REFRESH_FIELD)
        if token is None or REFRESH_FIELD not in schema.get("required", []):
            continue
        schema["required"] = [name for name in schema["required"] if name != REFRESH_FIELD]
        token["description"] = (
            f"always present, except in cookie mode (`{SESSION_MODE_HEADER}: {COOKIE_MODE}`), "
            f"where it is in the HttpOnly `{REFRESH_COOKIE}` cookie instead"
        )


def _request_body_schemas(document: dict[str, Any]) -> set[str]:
    """The names of the component schemas that operations take as their request body."""
    names: set[str] = set()
    for item in document.get("paths", {}).values():
        for operation in item.values():
            content = (
                operation.get("requestBody", {}).get("content", {})
                if isinstance(operation, dict)
                else {}
            )
            for media in content.values():
                names.add(media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1])
    return names


def _shortest_prefixes(paths: Iterable[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(f"{prefix}/") for prefix in kept):
            kept.append(path)
    return tuple(kept)


@dataclass(frozen=True)
class SessionRoutes:
    """Which routes take part in cookie mode, from the declared routes."""

    spend: frozenset[str]
    """Paths whose body is a refresh token (refresh): in cookie mode it comes from the cookie."""
    end: frozenset[str]
    """Paths that end the session (logout): in cookie mode they clear the cookies."""
    issue: frozenset[str]
    """Paths whose answer may carry a refresh token: in cookie mode it goes to the cookie."""

    @classmethod
    def of(cls, routes: Iterable[Route]) -> SessionRoutes:
        routes = tuple(routes)
        return cls(
            spend=frozenset(r.path for r in routes if carries_refresh_token(r.body)),
            end=frozenset(r.path for r in routes if r.ends_session),
            issue=frozenset(r.path for r in routes if carries_refresh_token(r.response)),
        )

    @property
    def cookie_paths(self) -> tuple[str, ...]:
        """Where the browser sends the refresh cookie: to these routes, and nowhere else."""
        return _shortest_prefixes(self.spend | self.end)


@dataclass(frozen=True)
class SessionCookies:
    """The ``Set-Cookie`` headers of cookie mode."""

    paths: tuple[str, ...]
    secure: bool

    def issue(self, refresh_token: str) -> list[tuple[bytes, bytes]]:
        cookies = [self.cookie(REFRESH_COOKIE, refresh_token, path) for path in self.paths]
        proof = self.cookie(self.csrf_cookie, csrf_token(refresh_token), "/", readable=True)
        return [*cookies, proof]

    def clear(self) -> list[tuple[bytes, bytes]]:
        cookies = [self.cookie(REFRESH_COOKIE, "", path, max_age=0) for path in self.paths]
        return [*cookies, self.cookie(self.csrf_cookie, "", "/", readable=True, max_age=0)]

    @property
    def csrf_cookie(self) -> str:
        """The CSRF cookie's name: ``__Host-`` prefixed where cookies are ``Secure``."""
        return self.named(CSRF_COOKIE)

    def named(self, name: str) -> str:
        """The name of the gateway's cookie ``name``: ``__Host-`` prefixed where cookies are
        ``Secure`` (production), so browsers refuse one set by a sibling site."""
        return f"{HOST_ONLY_PREFIX}{name}" if self.secure else name

    def cookie(
        self,
        name: str,
        value: str,
        path: str,
        *,
        same_site: Literal["Strict", "Lax"] = "Strict",
        readable: bool = False,
        max_age: int | None = None,
    ) -> tuple[bytes, bytes]:
        """One ``Set-Cookie`` header of the gateway's, ``Secure`` where cookies are; without
        ``max_age`` a session cookie (for the refresh token, auth's own expiry bounds it)."""
        cookie = SimpleCookie()
        cookie[name] = value
        morsel = cookie[name]
        morsel["path"] = path
        morsel["samesite"] = same_site
        morsel["httponly"] = not readable
        morsel["secure"] = self.secure
        if max_age is not None:
            morsel["max-age"] = max_age
        return (b"set-cookie", morsel.OutputString().encode("latin-1"))


class CsrfRefused(Forbidden):
    code = "csrf_failed"
    default_message = "The request did not come from this site's pages; reload the page."


class RefreshCookieMissing(Unauthorized):
    code = "refresh_cookie_missing"
    default_message = "No session in this browser: log in again."


class BrowserSessions:
    """ASGI middleware doing cookie mode on the session routes (see the module's doc)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: SessionRoutes,
        secure: bool,
        trusted_origins: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.routes = routes
        self.cookies = SessionCookies(routes.cookie_paths, secure)
        self.trusted_origins = frozenset(trusted_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _header(scope, SESSION_MODE_HEADER) != COOKIE_MODE:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        path = scope["path"]
        refresh_token = cookie_parser(headers.get("cookie", "")).get(REFRESH_COOKIE) or None
        if path in self.routes.spend or path in self.routes.end:
            refused = self._refusal(path, headers, refresh_token)
            if refused is not None:
                await self._answer(refused, scope, receive, send)
                return
        if path in self.routes.spend and refresh_token is not None:
            scope, receive = await _with_body(scope, receive, {REFRESH_FIELD: refresh_token})
        if path in self.routes.end and refresh_token is not None:
            await self._end(scope, receive, self._rewriting(path, send), refresh_token)
            return
        await self.app(scope, receive, self._rewriting(path, send))

    async def _end(self, scope: Scope, receive: Receive, send: Send, refresh_token: str) -> None:
        """Log out; when the access token is refused (expired while the page slept), the
        session is named by renewing the cookie's refresh token and the logout sent again with
        the new access token, so it is revoked on the server, not only forgotten here."""
        body = await _read_body(receive)
        refused = _Captured()
        await self.app(scope, _replaying(body, receive), refused.send)
        if refused.status != 401:
            await refused.replay(send)
            return
        access_token = await self._renewed_access_token(scope, receive, refresh_token)
        if access_token is None:
            await refused.replay(send)
            return
        signed = _with_header(scope, b"authorization", f"Bearer {access_token}".encode())
        await self.app(signed, _replaying(body, receive), send)

    async def _renewed_access_token(
        self, scope: Scope, receive: Receive, refresh_token: str
    ) -> str | None:
        """A new access token of the cookie's session (auth's own refresh), or None."""
        path = min(self.routes.spend)
        target = {**scope, "path": path, "raw_path": path.encode(), "query_string": b""}
        body = json.dumps({REFRESH_FIELD: refresh_token}).encode()
        refresh = _json_body_headers(_with_header(target, b"authorization", None), body)
        answer = _Captured()
        await self.app(refresh, _replaying(body, receive), answer.send)
        if answer.status != 200:
            return None
        token = json.loads(answer.body).get("access_token")
        return token if isinstance(token, str) else None

    def _refusal(
        self, path: str, headers: dict[str, str], refresh_token: str | None
    ) -> AgentbusError | None:
        """Why a cookie-mode request to a session route is refused, or None."""
        if not self._same_site(headers):
            return CsrfRefused()
        if refresh_token is None:
            # Logout names its session by the access token; refresh has nothing to spend.
            return RefreshCookieMissing() if path in self.routes.spend else None
        proof = headers.get("x-csrf-token", "")
        if not hmac.compare_digest(proof.encode(), csrf_token(refresh_token).encode()):
            return CsrfRefused()
        return None

    def _same_site(self, headers: dict[str, str]) -> bool:
        origin = headers.get("origin")
        if not origin:
            return False
        return urlsplit(origin).netloc == headers.get("host") or origin in self.trusted_origins

    async def _answer(
        self, error: AgentbusError, scope: Scope, receive: Receive, send: Send
    ) -> None:
        response = problem_response(error, Request(scope, receive))
        if error.status == 401:
            response.raw_headers.extend(self.cookies.clear())
        await response(scope, receive, send)

    def _rewriting(self, path: str, send: Send) -> Send:
        """``send`` that moves a refresh token from the answer into the cookie, and clears the
        cookies when the session ends or its refresh is refused."""
        ends = path in self.routes.end
        spends = path in self.routes.spend
        issues = path in self.routes.issue
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                status = message["status"]
                if ends or (spends and status == 401):
                    message["headers"] = [*message.get("headers", []), *self.cookies.clear()]
                if not (issues and 200 <= status < 300):
                    await send(message)
                    return
                start = message  # buffered: a token answer is small JSON
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body, extra = self._moved_to_cookie(b"".join(chunks))
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers += [(b"content-length", str(len(body)).encode()), *extra]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return rewrite

    def _moved_to_cookie(self, body: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """The answer without its refresh token, and the cookies that carry it instead."""
        try:
            data = json.loads(body)
        except ValueError:
            return body, []
        holder = _token_holder(data)
        if holder is None:
            return body, []
        refresh_token = holder.pop(REFRESH_FIELD)
        compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return compact, self.cookies.issue(str(refresh_token))


def _token_holder(data: Any) -> dict[str, Any] | None:
    """The object that holds the refresh token: the answer (tokens) or its ``tokens``."""
    for candidate in (data, data.get("tokens") if isinstance(data, dict) else None):
        if isinstance(candidate, dict) and isinstance(candidate.get(REFRESH_FIELD), str):
            return candidate
    return None


async def _with_body(
    scope: Scope, receive: Receive, payload: dict[str, str]
) -> tuple[Scope, Receive]:
    """``scope`` and ``receive`` of the same request with ``payload`` as its JSON body (the body
    sent is read and dropped first; after the new one, the connection speaks as before)."""
    await _read_body(receive)
    body = json.dumps(payload).encode()
    return _json_body_headers(scope, body), _replaying(body, receive)


def _json_body_headers(scope: Scope, body: bytes) -> Scope:
    """``scope`` with the content headers of ``body``, a JSON document."""
    scope = _with_header(scope, b"content-type", b"application/json")
    return _with_header(scope, b"content-length", str(len(body)).encode())


async def _read_body(receive: Receive) -> bytes:
    """The whole body of the request ``receive`` reads (a session route's is small JSON)."""
    chunks: list[bytes] = []
    message = await receive()
    while message["type"] == "http.request":
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
        message = await receive()
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives ``body`` once, then speaks as the connection does."""
    pending: Message | None = {"type": "http.request", "body": body, "more_body": False}

    async def replay() -> Message:
        nonlocal pending
        if pending is not None:
            sent, pending = pending, None
            return sent
        return await receive()

    return replay


def _with_header(scope: Scope, name: bytes, value: bytes | None) -> Scope:
    """``scope`` with header ``name`` set to ``value`` (removed when None)."""
    kept = [(k, v) for k, v in scope["headers"] if k.lower() != name]
    return {**scope, "headers": kept if value is None else [*kept, (name, value)]}


class _Captured:
    """An answer of the app kept instead of sent: its status, body, and the messages to replay."""

    def __init__(self) -> None:
        self.status = 0
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        self.messages.append(message)

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )

    async def replay(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


def _header(scope: Scope, name: str) -> str | None:
    """One request header, without decoding the others (this runs on every request)."""
    wanted = name.lower().encode("latin-1")
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == wanted), None)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
