"""The one error hierarchy of Agentbus and its one mapping to RFC 9457 problem details.

Services raise domain errors (subclasses of the classes here, each with its own
``code``); RPC handlers turn them into error envelopes; the gateway turns
envelopes back into problem responses. Nothing else maps errors to statuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, Field

PROBLEM_TYPE_PREFIX = "urn:agentbus:problem:"
PROBLEM_CONTENT_TYPE = "application/problem+json"


class ErrorBody(BaseModel):
    """What travels inside an RPC error envelope."""

    code: str
    message: str
    status: int = Field(ge=400, le=599)
    details: Any = None
    retry_after: int | None = None


class ErrorEnvelope(BaseModel):
    """``{"error": {"code", "message", "status", "details"}}``: the reply of a failed RPC."""

    error: ErrorBody


class AgentbusError(Exception):
    """Base of every error a service raises on purpose.

    ``code`` is stable and machine readable; ``message`` is safe to show to a
    client (never an internal exception text); ``details`` is JSON data.
    """

    code: str = "internal_error"
    status: int = 500
    title: str = "Internal error"
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Any = None,
        retry_after: int | None = None,
        code: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.message = message or self.default_message
        self.details = details
        self.retry_after = retry_after
        super().__init__(self.message)

    def to_body(self) -> ErrorBody:
        return ErrorBody(
            code=self.code,
            message=self.message,
            status=self.status,
            details=self.details,
            retry_after=self.retry_after,
        )

    def to_envelope(self) -> dict[str, Any]:
        return ErrorEnvelope(error=self.to_body()).model_dump(mode="json", exclude_none=True)


class BadRequest(AgentbusError):
    code = "bad_request"
    status = 400
    title = "Bad request"
    default_message = "The request is malformed."


class InvalidCursor(BadRequest):
    """A list cursor this list did not make (garbage, another list's, hand-made)."""

    code = "invalid_cursor"
    default_message = "The cursor is not valid for this list."


class Unauthorized(AgentbusError):
    code = "unauthorized"
    status = 401
    title = "Unauthorized"
    default_message = "Authentication is required."


class PaymentRequired(AgentbusError):
    code = "payment_required"
    status = 402
    title = "Payment required"
    default_message = "The current plan does not include this."


class Forbidden(AgentbusError):
    code = "forbidden"
    status = 403
    title = "Forbidden"
    default_message = "You are not allowed to do this."


class FeatureNotInPlan(Forbidden):
    """The tenant's effective features (its plan's, with operators' overrides) lack the one asked."""

    code = "feature_not_in_plan"
    default_message = "Your plan does not include this feature."


class TenantSuspended(Forbidden):
    """The caller's tenant is suspended by an operator: no token of it is issued or accepted."""

    code = "tenant_suspended"
    default_message = "This team is suspended. Contact support to have it reactivated."


class NotFound(AgentbusError):
    code = "not_found"
    status = 404
    title = "Not found"
    default_message = "The resource does not exist."


class Conflict(AgentbusError):
    code = "conflict"
    status = 409
    title = "Conflict"
    default_message = "The request conflicts with the current state."


class PayloadTooLarge(AgentbusError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"
    default_message = "The request body is too large."


class ValidationFailed(AgentbusError):
    code = "validation_failed"
    status = 422
    title = "Validation failed"
    default_message = "The request is not valid."


class RateLimited(AgentbusError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"
    default_message = "Too many requests; try again later."


class InternalError(AgentbusError):
    pass


class ServiceUnavailable(AgentbusError):
    code = "service_unavailable"
    status = 503
    title = "Service unavailable"
    default_message = "The service is unavailable; try again shortly."


class GatewayTimeout(AgentbusError):
    code = "upstream_timeout"
    status = 504
    title = "Upstream timeout"
    default_message = "The service did not answer in time; try again shortly."


class PermanentFailure(AgentbusError):
    """A message that can never be processed: dead-letter it at once instead of retrying."""

    code = "permanent_failure"
    status = 422
    title = "Unprocessable message"


_BY_STATUS: dict[int, type[AgentbusError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        PaymentRequired,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        ValidationFailed,
        RateLimited,
        InternalError,
        ServiceUnavailable,
        GatewayTimeout,
    )
}


def error_from_body(body: ErrorBody) -> AgentbusError:
    """Rebuild the error another service reported, keeping its ``code`` and ``status``."""
    cls = _BY_STATUS.get(body.status, InternalError)
    error = cls(body.message, details=body.details, retry_after=body.retry_after, code=body.code)
    error.status = body.status
    return error


def problem_details(error: AgentbusError, *, instance: str | None = None) -> dict[str, Any]:
    """The RFC 9457 body for ``error``: ``{type, title, status, detail, code}`` (+ ``errors``)."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.message,
        "code": error.code,
    }
    if instance:
        body["instance"] = instance
    if error.status == 422 and isinstance(error.details, list):
        body["errors"] = error.details
    elif isinstance(error.details, dict) and error.details:
        body["details"] = error.details
    return body


def validation_errors(
    errors: Sequence[Mapping[str, Any]], *, drop_loc_prefix: int = 0
) -> list[dict[str, Any]]:
    """Pydantic errors reduced to what a client may see: location, message, type."""
    cleaned = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())][drop_loc_prefix:]
        cleaned.append(
            {"loc": loc, "msg": str(err.get("msg", "")), "type": str(err.get("type", ""))}
        )
    return cleaned
