"""The gateway's own public routes: health, readiness, the JWKS copy and the Stripe intake.

``/metrics`` is not among them: it goes to the internal listener (``GATEWAY_METRICS_PORT``).
"""

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from pydantic_core import to_json
from starlette.responses import Response

from agentbus_gateway.guard import AccessPolicy, Admission, Guard
from agentbus_gateway.jwks import KeySetCache
from agentbus_gateway.openapi import problem_responses
from agentbus_gateway.settings import EDGE_GROUP, WEBHOOK_GROUP
from agentbus_gateway.webhooks import StripeIntake, WebhookReceipt

Readiness = Callable[[], Awaitable[tuple[bool, dict[str, str]]]]

EDGE_POLICY = AccessPolicy(access="public", rate_group=EDGE_GROUP)
WEBHOOK_POLICY = AccessPolicy(access="public", rate_group=WEBHOOK_GROUP)
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})


class Health(BaseModel):
    status: str


class ReadinessReport(BaseModel):
    status: str
    checks: dict[str, str]


class JsonWebKeySet(BaseModel):
    keys: list[dict[str, Any]]


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def edge_router(
    *,
    guard: Guard,
    readiness: Readiness,
    keys: KeySetCache,
    intake: StripeIntake,
    clock: Callable[[], float] = time.monotonic,
) -> APIRouter:
    router = APIRouter()
    edge = Annotated[Admission, Depends(guard.dependency(EDGE_POLICY))]
    webhook = Annotated[Admission, Depends(guard.dependency(WEBHOOK_POLICY))]

    def with_limits(response: Response, admission: Admission) -> Response:
        response.headers.update(admission.rate_headers)
        return response

    @router.get("/health", tags=["edge"], summary="Alive", response_model=Health)
    async def health(admission: edge) -> Response:
        return with_limits(Response(b'{"status":"ok"}', media_type="application/json"), admission)

    @router.get(
        "/health/ready",
        tags=["edge"],
        summary="NATS, Redis and every service answer",
        response_model=ReadinessReport,
        responses={503: {"model": ReadinessReport, "description": "Something is not ready"}},
    )
    async def ready(admission: edge) -> Response:
        ok, report = await readiness()
        body = {"status": "ok" if ok else "unavailable", "checks": report}
        return with_limits(
            Response(to_json(body), status_code=200 if ok else 503, media_type="application/json"),
            admission,
        )

    @router.get(
        "/.well-known/jwks.json",
        tags=["edge"],
        summary="The public keys that sign access tokens",
        response_model=JsonWebKeySet,
        responses={
            304: {"description": "Not modified (If-None-Match)"},
            **problem_responses(429, 503),
        },
    )
    async def jwks(request: Request, admission: edge) -> Response:
        snapshot = await keys.current()
        etag = (
            snapshot.jwks.etag if snapshot.jwks.etag.startswith('"') else f'"{snapshot.jwks.etag}"'
        )
        max_age = max(0, int(snapshot.expires_at - clock()))
        headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return with_limits(Response(status_code=304, headers=headers), admission)
        public_keys = [
            {k: v for k, v in key.items() if k not in _PRIVATE_JWK_MEMBERS}
            for key in snapshot.jwks.keys
        ]
        return with_limits(
            Response(
                to_json({"keys": public_keys}), headers=headers, media_type="application/json"
            ),
            admission,
        )

    @router.post(
        "/webhooks/stripe",
        tags=["webhooks"],
        summary="Stripe webhook intake",
        response_model=WebhookReceipt,
        responses=problem_responses(400, 413, 429, 503),
        openapi_extra={
            "parameters": [
                {
                    "name": "Stripe-Signature",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
        },
    )
    async def stripe_webhook(request: Request, admission: webhook) -> Response:
        receipt = await intake.receive(
            await request.body(), request.headers.get("stripe-signature")
        )
        return with_limits(
            Response(receipt.model_dump_json().encode(), media_type="application/json"), admission
        )

    return router
