"""The one generic path from a declared :class:`Route` to its service and back.

For every route of ``agentbus_shared.contracts.ROUTES`` an endpoint is built
(never written by hand): FastAPI validates the path parameters, the query
model and the body model (so the OpenAPI document shows them all); the guard
admits the caller; path parameters, query and body are merged into one payload
(path parameters win, so a body cannot choose the resource), sent to
``rpc.<service>.v1.<operation>`` with the caller's principal and request
metadata, and the reply's data is answered with the reply's status or the
route's. Errors are raised and mapped once, in :mod:`agentbus_gateway.problems`.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Body, Depends, FastAPI, Path, Query, Request
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json
from starlette.responses import JSONResponse, Response

from agentbus_gateway.guard import AccessPolicy, Admission, Guard
from agentbus_gateway.openapi import operation_docs
from agentbus_gateway.problems import UnsupportedMediaType
from agentbus_gateway.runs import RunWatch
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.http import Route
from agentbus_shared.errors import (
    ValidationFailed,
    validation_errors,
)
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

_PATH_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_RESERVED = frozenset({"request", "admission", "body", "query"})

JSON = "application/json"


def path_params(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


def merge_payload(
    path: dict[str, str], query: BaseModel | None, body: BaseModel | None
) -> dict[str, Any]:
    """One command payload: body, then query, then path parameters (which win)."""
    payload: dict[str, Any] = {}
    for part in (body, query):
        if part is not None:
            payload.update(part.model_dump(mode="json", exclude_unset=True))
    payload.update(path)
    return payload


def reply_response(data: Any, status: int, headers: dict[str, str]) -> Response:
    """The operation's answer as HTTP: JSON, or no content at all for a 204 and for an answer
    that is nothing (a 202 that accepts a request and promises no result)."""
    if status == 204 or data is None:
        return Response(status_code=status, headers=headers)
    return Response(to_json(data), status_code=status, headers=headers, media_type=JSON)


class Forwarder:
    """Builds and serves the forwarded routes."""

    def __init__(
        self, guard: Guard, rpc: RpcClient, *, default_timeout: float, run_check: float = 5.0
    ) -> None:
        self._guard = guard
        self._rpc = rpc
        self._default_timeout = default_timeout
        self._run_check = run_check

    def mount(self, app: FastAPI, routes: Iterable[Route]) -> None:
        seen: set[str] = set()
        for route in routes:
            if not self._guard.knows_group(route.rate_group):
                raise ValueError(f"{route.method} {route.path}: no limits for {route.rate_group!r}")
            operation_id = f"{route.service}.{route.operation}"
            if operation_id in seen:
                operation_id = f"{operation_id}.{route.method.lower()}"
            seen.add(operation_id)
            app.add_api_route(
                route.path,
                self._endpoint(route),
                methods=[route.method],
                status_code=route.status,
                response_model=None,
                # Documents an answer with no content (no JSON media type) when there is none.
                response_class=JSONResponse if route.response is not None else Response,
                summary=route.summary,
                tags=list(route.tags) or [route.service],
                operation_id=operation_id,
                **operation_docs(route),
            )

    async def forward(
        self, route: Route, admission: Admission, payload: dict[str, Any]
    ) -> Response:
        run_ref = new_id("run") if route.starts_chat_run else None
        if run_ref is not None:
            payload["run_ref"] = run_ref
        call = self._rpc.call(
            route.service,
            route.operation,
            payload,
            principal=admission.principal,
            meta=admission.meta,
            timeout=route.timeout or self._default_timeout,
        )
        if run_ref is None:
            reply = await call
        else:
            watch = RunWatch(
                self._rpc,
                admission,
                run_ref,
                run_check=self._run_check,
                rpc_timeout=self._default_timeout,
            )
            reply = await watch.reply(call)
        status = reply.status or route.status
        if not 200 <= status < 300:
            log.warning("forward.odd_status", target=route.subject, status=status)
            status = route.status
        if route.ends_session:
            await self._guard.end_session(admission)
        if route.changes_tenant_status:
            await self._guard.apply_tenant_status(reply.data)
        return reply_response(reply.data, status, dict(admission.rate_headers))

    def _endpoint(self, route: Route) -> Callable[..., Awaitable[Response]]:
        names = path_params(route.path)
        clash = _RESERVED.intersection(names)
        if clash:
            raise ValueError(f"{route.path}: path parameter names {sorted(clash)} are reserved")
        parameters = [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "admission",
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[
                    Admission, Depends(self._guard.dependency(AccessPolicy.of(route)))
                ],
            ),
        ]
        parameters += [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, Path(min_length=1, max_length=256)],
            )
            for name in names
        ]
        if route.query is not None:
            parameters.append(
                inspect.Parameter(
                    "query",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[route.query, Query()],
                )
            )
        if route.body is not None:
            body_source: Any = Depends(form_or_json(route.body)) if route.form_body else Body()
            parameters.append(
                inspect.Parameter(
                    "body",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[route.body, body_source],
                    default=None if route.optional_body else inspect.Parameter.empty,
                )
            )

        async def endpoint(request: Request, **params: Any) -> Response:
            admission: Admission = params.pop("admission")
            query: BaseModel | None = params.pop("query", None)
            body: BaseModel | None = params.pop("body", None)
            path = {name: params[name] for name in names}
            return await self.forward(route, admission, merge_payload(path, query, body))

        endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        endpoint.__name__ = f"forward_{route.service}_{route.operation.replace('.', '_')}"
        return endpoint


def form_or_json(model: type[BaseModel]) -> Callable[[Request], Awaitable[BaseModel]]:
    """A body that may come as JSON or as a form (the OAuth token endpoint takes both)."""

    async def parse(request: Request) -> BaseModel:
        content_type = request.headers.get("content-type", JSON).split(";")[0].strip().lower()
        raw = await request.body()
        data: Any
        if content_type == "application/x-www-form-urlencoded":
            data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        elif content_type == JSON or content_type.endswith("+json"):
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                raise ValidationFailed(
                    "The body is not valid JSON.",
                    details=[{"loc": ["body"], "msg": "Invalid JSON", "type": "json_invalid"}],
                ) from None
        else:
            raise UnsupportedMediaType("Send the body as JSON or as a form.")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            details = [
                {**err, "loc": ["body", *err["loc"]]} for err in validation_errors(exc.errors())
            ]
            raise ValidationFailed(details=details) from None

    return parse
