"""Property-based run of the gateway's own OpenAPI document: no input makes it answer 5xx.

Every documented operation is called with generated inputs (valid and
invalid, with a valid token) against test responders that answer every
operation. The operations are driven one by one through their hypothesis
strategies (schemathesis' pytest fixture loader does not run on pytest 9).
"""

from __future__ import annotations

import schemathesis
from gateway_support import ThreadedStack
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

# The billing and activity streams never end by design; the stream tests cover them.
UNBOUNDED = frozenset({("GET", "/api/v1/billing/stream"), ("GET", "/api/v1/activity/stream")})
EXAMPLES = 20


def test_no_generated_request_gets_a_server_error(gateway_thread: ThreadedStack) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway_thread.url}/openapi.json")
    headers = {"Authorization": f"Bearer {gateway_thread.tokens.issue()}"}
    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in UNBOUNDED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)

        call()
        exercised.append(f"{operation.method.upper()} {operation.path}")
    assert len(exercised) >= 45, exercised
