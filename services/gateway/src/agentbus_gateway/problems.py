"""Every error the gateway answers, as one RFC 9457 problem response (mapped here, once).

Domain errors (``AgentbusError``, also those re-raised from a service's error
envelope), request validation errors, routing errors (404/405) and crashes all
end in :func:`problem_response`: ``application/problem+json`` with
``Retry-After`` when the error says when to come back, ``WWW-Authenticate:
Bearer`` on 401, and the rate-limit headers of the request when it was counted.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from pydantic_core import to_json
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from agentbus_shared.errors import (
    PROBLEM_CONTENT_TYPE,
    AgentbusError,
    BadRequest,
    InternalError,
    NotFound,
    PayloadTooLarge,
    ValidationFailed,
    problem_details,
    validation_errors,
)
from agentbus_shared.logging import get_logger
from agentbus_shared.unavailable import as_unavailable

log = get_logger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"


class MethodNotAllowed(AgentbusError):
    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"
    default_message = "This method is not allowed on this path."


class UnsupportedMediaType(AgentbusError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"
    default_message = "The request body's content type is not accepted here."


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for people (``detail``) and programs (``code``)."""

    type: str = Field(examples=["urn:agentbus:problem:unauthorized"])
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = Field(None, description="the invalid fields (422 only)")
    details: dict[str, Any] | None = None


PROBLEM_STATUSES: dict[int, str] = {
    400: "The request is malformed",
    401: "No valid access token, or credentials or a code that are not correct",
    402: "The plan does not include this (see the plan's limits)",
    403: "The token lacks a scope, or the caller may not do this",
    404: "Not found",
    409: "The request conflicts with the current state",
    413: "The request body is too large",
    422: "The request is not valid",
    429: "Too many requests (see Retry-After)",
    503: "A service or the bus is unavailable (see Retry-After)",
    504: "A service did not answer in time (see Retry-After)",
}


def problem_response(error: AgentbusError, request: Request | None = None) -> Response:
    """The problem response for ``error``, with the headers the error and the request call for."""
    headers: dict[str, str] = {}
    if error.retry_after is not None:
        headers["Retry-After"] = str(max(0, int(error.retry_after)))
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="agentbus"'
    if request is not None:
        headers.update(getattr(request.state, "rate_headers", None) or {})
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
    body = problem_details(error)
    return Response(
        content=to_json(body),
        status_code=error.status,
        headers=headers,
        media_type=PROBLEM_CONTENT_TYPE,
    )


def error_for_status(status: int, detail: str | None = None) -> AgentbusError:
    """The domain error for a status Starlette raised itself (unknown path, wrong method, …)."""
    known: dict[int, type[AgentbusError]] = {
        400: BadRequest,
        404: NotFound,
        405: MethodNotAllowed,
        413: PayloadTooLarge,
        415: UnsupportedMediaType,
    }
    cls = known.get(status)
    if cls is not None:
        return cls(None if cls is NotFound or detail is None else detail)
    error = AgentbusError(detail)
    error.status = status if 400 <= status < 600 else 500
    error.code = "http_error"
    error.title = "HTTP error"
    return error


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure to :func:`problem_response`."""

    async def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AgentbusError)
        return problem_response(exc, request)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(ValidationFailed(details=validation_errors(exc.errors())), request)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error = error_for_status(exc.status_code, exc.detail if exc.status_code < 500 else None)
        return problem_response(error, request)

    async def on_crash(request: Request, exc: Exception) -> Response:
        unavailable = as_unavailable(exc)
        if unavailable is not None:  # Redis (or the bus's socket) is away: retry shortly
            log.warning("gateway.dependency_unavailable", error=type(exc).__name__)
            return problem_response(unavailable, request)
        log.error("gateway.crashed", error=type(exc).__name__, exc_info=exc)
        return problem_response(InternalError(), request)

    app.add_exception_handler(AgentbusError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)
