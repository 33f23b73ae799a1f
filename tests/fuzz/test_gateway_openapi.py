"""Schemathesis against the running gateway's own OpenAPI document, over HTTP, on the full stack.

Every documented operation is called with generated requests (valid and invalid) as a real,
verified user (the tenant's owner, also a platform operator, so the operator routes are reached)
and anonymously; then the links of the document drive stateful sequences (create a conversation,
then read, rename and delete it by the id the answer gave; register, then use its tokens...).
Each answer must not be a server error, must use a documented status and content type, and must
match the documented schema. Generation is derandomized: CI runs the same requests every time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from fuzz_support import OPERATOR, assert_still_whole, service_pids
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agentbus_gateway.openapi import LINKS
from agentbus_shared.testing.stack import Stack

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(300)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
AUTHENTICATED_EXAMPLES = 12
ANONYMOUS_EXAMPLES = 3
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 6
PASSWORD = "glacier-violin-tangerine-42"

UNBOUNDED = frozenset({("GET", "/api/v1/billing/stream"), ("GET", "/api/v1/activity/stream")})
"""Never end by design (a tenant's live billing events, its live activity feed): a generated
call would wait for ever. They take no input but the token; ``check_unbounded_streams`` opens
each with and without one."""


def settings(examples: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )


class Owner:
    """A registered, verified user (owner of its tenant, platform operator): fresh tokens."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        with stack.client() as client:
            registered = client.post(
                "/api/v1/auth/register",
                json={"email": OPERATOR, "password": PASSWORD, "tenant_name": "Fuzz"},
            )
            assert registered.status_code == 201, registered.text
            token = registered.json()["tokens"]["access_token"]
            code = stack.mailed_code(OPERATOR, "verify_email")
            verified = client.post(
                "/api/v1/auth/email/verify",
                json={"code": code},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert verified.status_code == 204, verified.text
        stack.agentbus("auth", "operators", "grant", OPERATOR)

    def headers(self) -> dict[str, str]:
        """A new session's token each time: an operation that ends sessions (logout, password
        change, generated session revocations) cannot starve the operations after it."""
        with self.stack.client() as client:
            login = client.post(
                "/api/v1/auth/token", json={"email": OPERATOR, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            return {"Authorization": f"Bearer {login.json()['access_token']}"}


def fuzz_operation(
    operation: schemathesis.APIOperation, examples: int, headers: Callable[[], dict[str, str]]
) -> None:
    sent = headers()

    @given(case=operation.as_strategy())
    @settings(examples)
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=sent, checks=CHECKS, timeout=30)

    call()


def check_unbounded_streams(stack: Stack, owner: Owner) -> None:
    with stack.client() as client:
        for _, path in sorted(UNBOUNDED):
            with client.stream("GET", path, headers=owner.headers()) as response:
                assert response.status_code == 200, path
                assert response.headers["content-type"].startswith("text/event-stream")
            anonymous = client.get(path)
            assert anonymous.status_code == 401, path
            assert anonymous.headers["content-type"] == "application/problem+json"
            bad = client.get(path, headers={"Authorization": "Bearer x.y.z"})
            assert bad.status_code == 401, path


def check_unsigned_webhook(stack: Stack) -> None:
    """The Stripe intake is fuzzed like every operation, but without the signing secret every
    generated signature is wrong: it must be a 400 problem each time, never stored."""
    body = b'{"id": "evt_unsigned", "type": "invoice.paid", "data": {"object": {}}}'
    with stack.client() as client:
        for headers in ({}, {"Stripe-Signature": "t=1,v1=00"}, {"Stripe-Signature": "v1=,t="}):
            answer = client.post("/webhooks/stripe", content=body, headers=headers)
            assert answer.status_code == 400, (headers, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"


MALFORMED_BODIES = {
    "deep nesting": b'{"message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "unpaired surrogate": b'{"message": "\\ud800", "email": "\\udfff@example.com"}',
    "NUL": b'{"message": "a\\u0000b", "email": "a\\u0000@example.com", "password": "\\u0000"}',
    "invalid UTF-8": b'{"message": "\xff\xfe"}',
    "not JSON": b'{"message": ',
}
"""Bodies a generator rarely produces, sent to a public and an authenticated route."""


def check_malformed_bodies(stack: Stack, owner: Owner) -> None:
    with stack.client() as client:
        for name, body in MALFORMED_BODIES.items():
            for path, headers in (
                ("/api/v1/auth/register", {}),
                ("/api/v1/chat", owner.headers()),
            ):
                answer = client.post(
                    path, content=body, headers={**headers, "Content-Type": "application/json"}
                )
                assert 400 <= answer.status_code < 500, (name, path, answer.text)
                assert answer.headers["content-type"] == "application/problem+json", name


def test_the_running_gateway_conforms_to_its_openapi_under_generated_requests(
    fuzz_stack: Stack,
) -> None:
    pids = service_pids(fuzz_stack)
    owner = Owner(fuzz_stack)
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.gateway_url}/openapi.json")

    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in UNBOUNDED:
            continue
        fuzz_operation(operation, AUTHENTICATED_EXAMPLES, owner.headers)
        fuzz_operation(operation, ANONYMOUS_EXAMPLES, dict)
        exercised.append(key)
    assert len(exercised) >= 50, exercised
    check_unbounded_streams(fuzz_stack, owner)
    check_unsigned_webhook(fuzz_stack)
    check_malformed_bodies(fuzz_stack, owner)

    # The sequences run over the operations that links connect (producers and consumers of ids
    # and tokens); the others, which no answer feeds, were covered one by one above.
    linked = sorted(
        {source for source, _ in LINKS}
        | {link["operationId"] for links in LINKS.values() for link in links.values()}
    )
    machine = schema.include(operation_id=linked).as_state_machine()
    reached: set[tuple[str, int]] = set()

    class Scenarios(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            self._headers = owner.headers()

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            reached.add((case.operation.label, response.status_code))

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": self._headers, "timeout": 30}

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Scenarios.run(
        settings=hypothesis.settings(
            settings(STATEFUL_SCENARIOS), stateful_step_count=STATEFUL_STEPS
        )
    )
    # the sequences got somewhere: an id from one answer was used by a later request
    followed = {label for label, status in reached if "{" in label and status < 300}
    assert followed, str(sorted(reached))
    assert_still_whole(fuzz_stack, pids)
