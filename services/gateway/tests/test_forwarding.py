"""The generic path: every declared route forwarded over NATS, answers and errors mapped once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_support import (
    FakeAuth,
    FakeService,
    Handler,
    Payload,
    SpawnFake,
    StartGateway,
    TokenFactory,
)

from agentbus_shared.contracts import ROUTES
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.errors import NotFound, RateLimited


async def test_path_query_and_body_are_merged_into_one_payload(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    response = await client.patch(
        "/api/v1/tenants/members/u_carol", json={"role": "admin"}, headers=tokens.bearer()
    )
    assert response.status_code == 200, response.text
    assert response.json()["payload"] == {"role": "admin", "user_id": "u_carol"}

    response = await client.get(
        "/api/v1/tenants/members", params={"limit": 5}, headers=tokens.bearer()
    )
    assert response.json()["payload"] == {"limit": 5}


async def test_body_cannot_choose_the_resource_of_the_path(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.patch(
        "/api/v1/tenants/members/u_carol",
        json={"role": "admin", "user_id": "u_mallory"},
        headers=tokens.bearer(),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_request_metadata_travels_with_the_call(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(
        "/api/v1/tenants/current",
        headers={**tokens.bearer(), "X-Request-ID": "req-abc.123", "User-Agent": "agent/1.0"},
    )
    assert response.headers["x-request-id"] == "req-abc.123"
    meta = response.json()["meta"]
    assert meta == {
        "request_id": "req-abc.123",
        "client_ip": "127.0.0.1",
        "user_agent": "agent/1.0",
    }


async def test_insane_request_id_is_replaced(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(
        "/api/v1/tenants/current", headers={**tokens.bearer(), "X-Request-ID": "a b\tc" * 50}
    )
    generated = response.headers["x-request-id"]
    assert generated.startswith("req_")
    assert response.json()["meta"]["request_id"] == generated


async def test_public_route_answers_with_the_routes_status(client: httpx.AsyncClient) -> None:
    body = {"email": "ann@example.com", "password": "correct horse", "tenant_name": "Acme"}
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201
    echoed = response.json()
    assert echoed["principal"] is None
    assert echoed["payload"] == body


async def test_service_chooses_another_success_status(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/token", json={"email": "ann@example.com", "password": "pw"}
    )
    assert response.status_code == 202
    assert response.json() == {"mfa_required": True, "challenge_token": "c"}


async def test_no_content_route_answers_204_without_body(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.post("/api/v1/auth/logout", headers=tokens.bearer())
    assert response.status_code == 204
    assert response.content == b""


async def test_an_accepted_request_with_no_result_answers_202_with_no_content(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/v1/auth/password/forgot", json={"email": "ann@example.com"})
    assert response.status_code == 202
    assert response.content == b""
    assert "content-type" not in response.headers


async def test_service_error_becomes_a_problem_with_its_code(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.delete("/api/v1/auth/sessions/s_404", headers=tokens.bearer())
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:agentbus:problem:session_not_found",
        "title": "Not found",
        "status": 404,
        "detail": "No such session.",
        "code": "session_not_found",
    }


async def test_invalid_body_is_refused_with_field_errors(
    client: httpx.AsyncClient, fake_auth: FakeAuth
) -> None:
    response = await client.post("/api/v1/auth/register", json={"email": "not-an-email"})
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    fields = {tuple(error["loc"]) for error in problem["errors"]}
    assert ("body", "email") in fields
    assert ("body", "password") in fields
    assert not [call for call in fake_auth.calls if call[0] == "register"]


async def test_an_optional_body_may_be_left_out_and_a_required_one_may_not(
    client: httpx.AsyncClient, spawn_fake: SpawnFake, tokens: TokenFactory
) -> None:
    await spawn_fake("activity", {"feed.read_all": None})
    read_all = "/api/v1/activity/read-all"
    without = await client.post(read_all, headers=tokens.bearer())
    assert without.status_code == 200, without.text
    assert without.json()["payload"] == {}
    up_to = await client.post(read_all, json={"up_to": "act_1"}, headers=tokens.bearer())
    assert up_to.json()["payload"] == {"up_to": "act_1"}
    wrong = await client.post(read_all, json={"up_to": 7}, headers=tokens.bearer())
    assert wrong.status_code == 422

    missing = await client.patch("/api/v1/tenants/members/u_carol", headers=tokens.bearer())
    assert missing.status_code == 422


async def test_body_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_token_endpoint_takes_a_form_or_json(client: httpx.AsyncClient) -> None:
    grant = {"grant_type": "client_credentials", "client_id": "ci", "client_secret": "cs"}
    as_form = await client.post("/api/v1/auth/oauth/token", data=grant)
    as_json = await client.post("/api/v1/auth/oauth/token", json=grant)
    assert as_form.status_code == as_json.status_code == 200
    assert as_form.json()["payload"] == as_json.json()["payload"] == grant
    wrong = await client.post(
        "/api/v1/auth/oauth/token", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert wrong.status_code == 415
    invalid = await client.post("/api/v1/auth/oauth/token", data={"grant_type": "password"})
    assert invalid.status_code == 422
    assert ["body", "client_id"] in [error["loc"] for error in invalid.json()["errors"]]


async def test_missing_service_answers_503_at_once(client: httpx.AsyncClient) -> None:
    started = time.monotonic()
    response = await client.get("/api/v1/billing/plans")
    assert response.status_code == 503
    assert time.monotonic() - started < 1.0
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "service_unavailable"


async def test_slow_service_answers_504_within_the_timeout(
    start_gateway: StartGateway, spawn_fake: SpawnFake, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async def slow(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        await asyncio.sleep(3)

    await spawn_fake("chat", {"agents.list": slow})
    async with start_gateway(tuning={"rpc_timeout": 0.3}) as gw:
        started = time.monotonic()
        response = await gw.client.get("/api/v1/agents", headers=tokens.bearer())
        elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert elapsed < 1.5
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "upstream_timeout"


async def test_without_signing_keys_token_routes_answer_503_not_401(
    start_gateway: StartGateway, tokens: TokenFactory
) -> None:
    async with start_gateway() as gw:
        response = await gw.client.get("/api/v1/tenants/current", headers=tokens.bearer())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"


async def test_body_over_the_limit_is_refused_with_413(
    start_gateway: StartGateway, fake_auth: FakeAuth
) -> None:
    async with start_gateway(tuning={"max_body_bytes": 2048}) as gw:
        big = {"email": "a@example.com", "password": "x" * 4000, "tenant_name": "t"}
        declared = await gw.client.post("/api/v1/auth/register", json=big)

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"email": "a@example.com", "password": "'
            yield b"x" * 4000
            yield b'", "tenant_name": "t"}'

        chunked = await gw.client.post(
            "/api/v1/auth/register",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert chunked.json()["code"] == "payload_too_large"
    assert not [call for call in fake_auth.calls if call[0] == "register"]


async def test_unknown_path_and_wrong_method_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong = await client.put("/api/v1/auth/register")
    assert wrong.status_code == 405
    assert wrong.json()["code"] == "method_not_allowed"


async def test_openapi_documents_every_declared_route_with_its_models(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    for route in ROUTES:
        operation = document["paths"][route.path][route.method.lower()]
        responses = operation["responses"]
        assert str(route.status) in responses
        if route.response is not None and route.status != 204:
            schema = responses[str(route.status)]["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith(
                route.response.__name__.replace("[", "_").replace("]", "_")
            )
        if route.response is None:
            assert "content" not in responses[str(route.status)], route.path
        if route.body is not None:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body["$ref"] == f"#/components/schemas/{route.body.__name__}"
            assert operation["requestBody"].get("required", False) is not route.optional_body
        if route.access != "public":
            assert operation["security"] == [{"bearerAuth": []}]
            assert "401" in responses
    streams = ("/api/v1/chat/stream", "/api/v1/billing/stream", "/api/v1/activity/stream")
    for path in (*streams, "/webhooks/stripe"):
        assert path in document["paths"]
    assert "/.well-known/jwks.json" in document["paths"]


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
async def test_api_docs_are_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_every_response_carries_exactly_one_request_id(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/health"), await client.get("/api/v1/billing/plans")):
        assert len(response.headers.get_list("x-request-id")) == 1


CHAT_REPLY = {
    "conversation_id": "cnv_1",
    "agent": "support",
    "output": "done",
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


async def post_chat_to_a_dead_replica(
    start_gateway: StartGateway, spawn_fake: SpawnFake, tokens: TokenFactory, status: Handler
) -> FakeService:
    """``POST /api/v1/chat`` to a chat whose replica never answers ("died" with the request),
    ``status`` answering ``stream.status``; it must be answered run_lost at once. The fake."""
    released = asyncio.Event()

    async def never_answers(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        await released.wait()

    chat = await spawn_fake("chat", {"chat": never_answers, "stream.status": status})
    async with start_gateway(tuning={"sse_run_check": 0.3}) as gw:
        started = time.monotonic()
        try:
            response = await gw.client.post(
                "/api/v1/chat", json={"message": "hello"}, headers=tokens.bearer()
            )
        finally:
            released.set()  # let the fake stop without waiting for its handler
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "run_lost"
    assert response.headers["retry-after"] == "1"
    assert elapsed < 3  # the route's timeout is 120 s
    return chat


async def test_a_chat_whose_replica_died_is_answered_run_lost_long_before_its_timeout(
    start_gateway: StartGateway, spawn_fake: SpawnFake, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async def interrupted(
        body: Payload, principal: Principal | None, meta: RequestMeta
    ) -> dict[str, str]:
        return {"stream_id": body["stream_id"], "status": "interrupted"}

    chat = await post_chat_to_a_dead_replica(start_gateway, spawn_fake, tokens, interrupted)
    (_, sent), (_, asked) = chat.calls[0], chat.calls[1]
    assert sent["message"] == "hello"
    assert sent["run_ref"].startswith("run_")
    assert asked == {"stream_id": sent["run_ref"]}


async def test_a_chat_no_replica_holds_any_more_is_answered_run_lost(
    start_gateway: StartGateway, spawn_fake: SpawnFake, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    """The replica died while the request waited for a run slot: no row, no replica knows it."""
    asked: list[float] = []

    async def unknown(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        asked.append(time.monotonic())
        raise NotFound("no such run")

    await post_chat_to_a_dead_replica(start_gateway, spawn_fake, tokens, unknown)
    assert len(asked) == 3  # three checks in a row found nobody holding it


async def test_a_long_chat_is_watched_until_its_reply_comes(
    start_gateway: StartGateway, spawn_fake: SpawnFake, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    asked: list[str] = []

    async def slow(body: Payload, principal: Principal | None, meta: RequestMeta) -> dict[str, Any]:
        await asyncio.sleep(1.2)
        return CHAT_REPLY

    async def status(
        body: Payload, principal: Principal | None, meta: RequestMeta
    ) -> dict[str, str]:
        asked.append(body["stream_id"])
        if len(asked) == 1:
            raise NotFound("not started yet")  # still queued on the replica: keep waiting
        return {"stream_id": body["stream_id"], "status": "running"}

    await spawn_fake("chat", {"chat": slow, "stream.status": status})
    async with start_gateway(tuning={"sse_run_check": 0.3}) as gw:
        response = await gw.client.post(
            "/api/v1/chat", json={"message": "hello"}, headers=tokens.bearer()
        )
    assert response.status_code == 200, response.text
    assert response.json() == CHAT_REPLY
    assert len(asked) >= 2


async def test_a_client_cannot_name_the_run_itself(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.post(
        "/api/v1/chat",
        json={"message": "hello", "run_ref": "run_someone_elses"},
        headers=tokens.bearer(),
    )
    assert response.status_code == 422


async def test_too_many_runs_at_once_is_429_with_retry_after_on_both_chat_routes(
    start_gateway: StartGateway, spawn_fake: SpawnFake, fake_auth: FakeAuth, tokens: TokenFactory
) -> None:
    async def busy(body: Payload, principal: Principal | None, meta: RequestMeta) -> None:
        raise RateLimited(
            "Too many runs at once for this user; wait for one to end.",
            code="too_many_runs",
            retry_after=5,
            details={"limit": 5, "per": "user"},
        )

    await spawn_fake("chat", {"chat": busy, "stream.start": busy})
    async with start_gateway() as gw:
        answers = [
            await gw.client.post(path, json={"message": "hello"}, headers=tokens.bearer())
            for path in ("/api/v1/chat", "/api/v1/chat/stream")
        ]
    for response in answers:
        assert response.status_code == 429, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        assert response.json()["code"] == "too_many_runs"
        assert response.json()["details"] == {"limit": 5, "per": "user"}
