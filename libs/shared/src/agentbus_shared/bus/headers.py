"""NATS header names Agentbus sets, and reading the caller's context from them."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.errors import BadRequest

PRINCIPAL = "Ab-Principal"
REQUEST_ID = "Ab-Request-Id"
CLIENT_IP = "Ab-Client-Ip"
USER_AGENT = "Ab-User-Agent"
MSG_ID = "Nats-Msg-Id"

DLQ_ERROR = "Ab-Dlq-Error"
DLQ_STREAM = "Ab-Dlq-Stream"
DLQ_SEQUENCE = "Ab-Dlq-Sequence"
DLQ_SUBJECT = "Ab-Dlq-Subject"
DLQ_CONSUMER = "Ab-Dlq-Consumer"
DLQ_DELIVERIES = "Ab-Dlq-Deliveries"


def caller_headers(
    principal: Principal | None = None, meta: RequestMeta | None = None
) -> dict[str, str]:
    """Headers that carry who is calling and from where."""
    headers: dict[str, str] = {}
    if principal is not None:
        headers[PRINCIPAL] = principal.model_dump_json()
    if meta is not None:
        if meta.request_id:
            headers[REQUEST_ID] = meta.request_id
        if meta.client_ip:
            headers[CLIENT_IP] = meta.client_ip
        if meta.user_agent:
            headers[USER_AGENT] = meta.user_agent[:256]
    return headers


def principal_from(headers: Mapping[str, str] | None) -> Principal | None:
    raw = (headers or {}).get(PRINCIPAL)
    if not raw:
        return None
    try:
        return Principal.model_validate_json(raw)
    except ValidationError as exc:
        raise BadRequest("The caller's principal header is malformed.") from exc


def meta_from(headers: Mapping[str, str] | None) -> RequestMeta:
    headers = headers or {}
    return RequestMeta(
        request_id=headers.get(REQUEST_ID),
        client_ip=headers.get(CLIENT_IP),
        user_agent=headers.get(USER_AGENT),
    )
