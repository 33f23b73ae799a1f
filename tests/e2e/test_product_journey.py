"""The product journey end to end: one tenant from sign-up to the limit of a paid plan, and a
second tenant who sees none of it.

The whole system runs as ``agentbus dev`` runs it (separate processes, embedded NATS, PostgreSQL
and Redis, the Stripe stand-in). The test is only a client over HTTP; the dev mail sink plays the
user's mailbox and the stand-in's checkout page plays the user paying at Stripe. The plan catalog
is the built-in one's shape with limits small enough to reach (``e2e_support.CATALOG``), given to
billing through its own setting (``BILLING_PLANS_FILE``).

One test walks the stages in order (they build on each other); each stage is a function named
for the feature it proves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
import pytest
from e2e_support import FREE_MESSAGES, STARTER_MESSAGES, StreamWatch, pay_at_checkout
from test_tenant_lifecycle import PLATFORM, operator

from agentbus_shared.testing.stack import SseEvent, Stack, read_sse
from agentbus_shared.testing.waiting import eventually_blocking, in_previous_totp_step

pytestmark = pytest.mark.e2e

PASSWORD = "orchard-compass-velvet-58"


# ------------------------------------------------------------------ the people and their state
@dataclass
class Person:
    email: str
    tenant_name: str
    tokens: dict[str, Any] = field(default_factory=dict)
    user_id: str = ""
    tenant_id: str = ""
    totp: pyotp.TOTP | None = None
    recovery_codes: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


@dataclass
class Journey:
    """What the stages learn about the first tenant, for the later stages to check."""

    conversation_id: str = ""
    stream_id: str = ""
    session_id: str = ""
    chat_tokens: int = 0


# ------------------------------------------------------------------ helpers
def assert_problem(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with the API.md fields, the status and the code."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = reply.json()
    assert {"type", "title", "status", "detail", "code"} <= problem.keys()
    assert (problem["status"], problem["code"]) == (status, code), problem
    return problem


def usage_of(client: httpx.Client, person: Person) -> dict[str, Any]:
    reply = client.get("/api/v1/billing/usage", headers=person.headers)
    assert reply.status_code == 200, reply.text
    usage: dict[str, Any] = reply.json()
    usage["used"] = {m["meter"]: m["used"] for m in usage["meters"]}
    usage["limit"] = {m["meter"]: m["limit"] for m in usage["meters"]}
    return usage


def wait_for_usage(
    client: httpx.Client, person: Person, *, plan: str, messages: int
) -> dict[str, Any]:
    """This period's usage once billing has counted ``messages`` runs (usage events are async)."""

    def counted() -> dict[str, Any] | None:
        usage = usage_of(client, person)
        return usage if (usage["plan"], usage["used"]["messages"]) == (plan, messages) else None

    return eventually_blocking(counted, what=f"{messages} messages counted on {plan}")


class BillingWatch(StreamWatch):
    """Reads a tenant's ``/billing/stream`` on a thread from now until stopped."""

    def __init__(self, stack: Stack, person: Person) -> None:
        super().__init__(stack, person.headers, "/api/v1/billing/stream")

    def wait_for_event(self, event: str, **data: Any) -> SseEvent:
        """The first ``event`` whose CloudEvent data holds ``data``."""
        return self.wait_for(
            lambda e: e.event == event and data.items() <= e.data["data"].items(),
            f"{event} {data}",
        )


def chat_stream(client: httpx.Client, person: Person, message: str) -> list[SseEvent]:
    with client.stream(
        "POST", "/api/v1/chat/stream", json={"message": message}, headers=person.headers
    ) as reply:
        assert reply.status_code == 200, reply.read().decode()
        assert reply.headers["content-type"].startswith("text/event-stream")
        return list(read_sse(reply))


def sign_up(client: httpx.Client, person: Person) -> None:
    reply = client.post(
        "/api/v1/auth/register",
        json={"email": person.email, "password": PASSWORD, "tenant_name": person.tenant_name},
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["tenant"]["role"] == "owner"
    assert body["user"]["email_verified"] is False
    assert body["tokens"]["token_type"] == "Bearer"
    person.tokens = body["tokens"]
    person.user_id = body["user"]["id"]
    person.tenant_id = body["tenant"]["id"]


def log_in_with_second_factor(client: httpx.Client, person: Person, code: str) -> dict[str, Any]:
    challenge = client.post(
        "/api/v1/auth/token", json={"email": person.email, "password": PASSWORD}
    )
    assert challenge.status_code == 202, challenge.text
    assert challenge.json()["mfa_required"] is True
    done = client.post(
        "/api/v1/auth/mfa/complete",
        json={"challenge_token": challenge.json()["challenge_token"], "code": code},
    )
    assert done.status_code == 200, done.text
    tokens: dict[str, Any] = done.json()
    return tokens


def current_session_id(client: httpx.Client, person: Person) -> str:
    reply = client.get("/api/v1/auth/sessions", headers=person.headers)
    assert reply.status_code == 200, reply.text
    return str(next(s["id"] for s in reply.json()["items"] if s["current"]))


# ------------------------------------------------------------------ the stages
def sign_up_and_verify_the_email(stack: Stack, client: httpx.Client, ada: Person) -> None:
    sign_up(client, ada)
    code = stack.mailed_code(ada.email, "verify_email")
    verified = client.post("/api/v1/auth/email/verify", json={"code": code}, headers=ada.headers)
    assert verified.status_code == 204, verified.text
    me = client.get("/api/v1/auth/me", headers=ada.headers).json()
    assert me["user"]["email_verified"] is True
    assert me["tenant"] == {
        "id": ada.tenant_id,
        "name": ada.tenant_name,
        "role": "owner",
        "status": "active",
    }


def enable_totp(client: httpx.Client, ada: Person) -> None:
    # Putting a factor on the account asks for the password again: the token alone is not enough.
    stolen_token_only = client.post(
        "/api/v1/auth/mfa/totp/enroll",
        json={"current_password": "not-it-1234"},
        headers=ada.headers,
    )
    assert_problem(stolen_token_only, 403, "invalid_current_password")
    enrolled = client.post(
        "/api/v1/auth/mfa/totp/enroll", json={"current_password": PASSWORD}, headers=ada.headers
    )
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")
    ada.totp = pyotp.TOTP(enrolled.json()["secret"])
    # The previous time step: the login below then uses a later step (each step counts once).
    confirmed = client.post(
        "/api/v1/auth/mfa/totp/verify",
        json={"code": ada.totp.at(in_previous_totp_step()), "current_password": PASSWORD},
        headers=ada.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    ada.recovery_codes = confirmed.json()["recovery_codes"]
    assert len(ada.recovery_codes) == 10
    me = client.get("/api/v1/auth/me", headers=ada.headers).json()
    assert me["user"]["mfa_enabled"] is True


def log_in_with_totp(client: httpx.Client, ada: Person, journey: Journey) -> None:
    assert ada.totp is not None
    wrong = client.post("/api/v1/auth/token", json={"email": ada.email, "password": "not-it-1234"})
    assert_problem(wrong, 401, "invalid_credentials")
    ada.tokens = log_in_with_second_factor(client, ada, ada.totp.now())
    journey.session_id = current_session_id(client, ada)


def an_operator_lets_the_team_use_the_research_agent(
    stack: Stack, client: httpx.Client, ada: Person
) -> None:
    """The free plan leaves the research agent out; an operator's override turns it on for Ada's
    team (whatever its plan later), in force for chat once the operator is answered."""
    ops = operator(client, stack, "ops@journey.example")
    features = f"{PLATFORM}/{ada.tenant_id}/features"

    def billing_knows_the_team() -> httpx.Response | None:
        found = client.get(features, headers=ops)
        return found if found.status_code == 200 else None

    plan = eventually_blocking(billing_knows_the_team, what="billing knows Ada's team").json()
    assert "research_agent" not in plan["features"]
    on = client.put(features, json={"overrides": {"research_agent": True}}, headers=ops)
    assert on.status_code == 200, on.text
    mine = client.get("/api/v1/features", headers=ada.headers).json()
    assert (mine["plan"], mine["overrides"]) == ("free", {"research_agent": True})
    assert "research_agent" in mine["features"]


def chat_with_a_handoff_and_a_tool_over_sse(
    client: httpx.Client, ada: Person, journey: Journey
) -> None:
    frames = chat_stream(client, ada, "Please calculate (12 * 7) + 3 for my garden budget")
    names = [f.event for f in frames]
    ids = [int(f.id or 0) for f in frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), ids

    assert names[0] == "conversation"
    journey.conversation_id = frames[0].data["conversation_id"]
    journey.stream_id = frames[0].data["stream_id"]
    assert "error" not in names
    assert names.count("final") == 1 and names[-1] == "final", names

    handoff = next(f.data for f in frames if f.event == "handoff")
    assert handoff == {"from": "triage", "to": "research"}
    call = next(f.data for f in frames if f.event == "tool_call")
    assert call["name"] == "calculator"
    assert call["arguments"] == {"expression": "(12 * 7) + 3"}
    result = next(f.data for f in frames if f.event == "tool_result")
    assert result["call_id"] == call["call_id"]
    assert "87" in result["output"]
    assert names.index("handoff") < names.index("tool_call") < names.index("tool_result")
    assert names.index("tool_result") < names.index("delta")

    final = frames[-1].data
    deltas = "".join(f.data["text"] for f in frames if f.event == "delta")
    assert deltas == final["output"] and "87" in final["output"]
    assert final["agent"] == "research"
    assert final["usage"]["input_tokens"] > 0 and final["usage"]["output_tokens"] > 0
    journey.chat_tokens += final["usage"]["input_tokens"] + final["usage"]["output_tokens"]

    messages = client.get(
        f"/api/v1/conversations/{journey.conversation_id}/messages", headers=ada.headers
    )
    assert messages.status_code == 200, messages.text
    said = [(m["role"], m["content"]) for m in messages.json()["items"]]
    assert said[0] == ("user", "Please calculate (12 * 7) + 3 for my garden budget")
    assert said[-1] == ("assistant", final["output"])


def search_the_conversation(client: httpx.Client, ada: Person, journey: Journey) -> None:
    listed = client.get("/api/v1/conversations", headers=ada.headers).json()["items"]
    assert [c["id"] for c in listed] == [journey.conversation_id]
    found = client.get("/api/v1/conversations/search", params={"q": "garden"}, headers=ada.headers)
    assert found.status_code == 200, found.text
    hits = found.json()["items"]
    assert [h["conversation_id"] for h in hits] == [journey.conversation_id]
    assert "garden" in hits[0]["snippet"].lower()
    assert hits[0]["rank"] > 0


def usage_is_counted_on_the_free_plan(client: httpx.Client, ada: Person, journey: Journey) -> None:
    usage = wait_for_usage(client, ada, plan="free", messages=1)
    assert usage["used"]["tokens"] == journey.chat_tokens
    assert usage["limit"] == {"messages": FREE_MESSAGES, "tokens": 1000000}


def subscribe_to_a_paid_plan_at_checkout(
    stack: Stack, client: httpx.Client, ada: Person, watch: BillingWatch
) -> None:
    started = client.post(
        "/api/v1/billing/subscription", json={"plan": "starter"}, headers=ada.headers
    )
    assert started.status_code == 201, started.text
    assert started.json()["subscription"] is None
    checkout_url = started.json()["checkout_url"]

    assert "19.00 USD per month" in httpx.get(checkout_url, timeout=30).text
    pay_at_checkout(stack, checkout_url)

    # The signed checkout.session.completed webhook went through /webhooks/stripe to billing.
    changed = watch.wait_for_event("subscription.changed", plan="starter", status="active")
    assert changed.data["tenantid"] == ada.tenant_id
    assert any(
        "webhook.stored" in line and "checkout.session.completed" in line
        for line in stack.log("gateway").splitlines()
    ), "the gateway took in no checkout.session.completed webhook"

    subscription = client.get("/api/v1/billing/subscription", headers=ada.headers).json()
    assert (subscription["plan"], subscription["status"]) == ("starter", "active")
    assert subscription["current_period_end"] is not None
    assert subscription["cancel_at_period_end"] is False
    # Auth learns the plan from billing's event through its own consumer: a moment later.
    eventually_blocking(
        lambda: (
            client.get("/api/v1/tenants/current", headers=ada.headers).json()["plan"] == "starter"
        ),
        what="the tenant's plan in auth",
    )
    invoices = eventually_blocking(
        lambda: client.get("/api/v1/billing/invoices", headers=ada.headers).json()["items"],
        what="the first invoice",
    )
    assert [(i["amount_due"], i["currency"]) for i in invoices] == [(1900, "usd")]


def usage_is_counted_on_the_paid_plan(client: httpx.Client, ada: Person) -> None:
    """Chat up to the plan's limit; billing counts every run and every token of this period."""
    fresh = usage_of(client, ada)
    assert (fresh["plan"], fresh["used"]["messages"]) == ("starter", 0)
    assert fresh["limit"]["messages"] == STARTER_MESSAGES
    tokens = 0
    for turn in range(STARTER_MESSAGES):
        reply = client.post(
            "/api/v1/chat", json={"message": f"Hello again, turn {turn}"}, headers=ada.headers
        )
        assert reply.status_code == 200, reply.text
        tokens += reply.json()["usage"]["input_tokens"] + reply.json()["usage"]["output_tokens"]
    usage = wait_for_usage(client, ada, plan="starter", messages=STARTER_MESSAGES)
    assert usage["used"]["tokens"] == tokens


def the_quota_is_enforced(client: httpx.Client, ada: Person, watch: BillingWatch) -> None:
    watch.wait_for_event("usage.threshold", meter="messages", percent=100)
    # Billing rewrites the entitlements right after counting; wait out chat's cache of them
    # (CHAT_TUNING__ENTITLEMENTS_TTL=0.5 here) with room to spare.
    time.sleep(1.5)
    refused = client.post("/api/v1/chat", json={"message": "One more?"}, headers=ada.headers)
    problem = assert_problem(refused, 429, "quota_exceeded")
    assert int(refused.headers["retry-after"]) > 0, problem
    streamed = client.post(
        "/api/v1/chat/stream", json={"message": "One more, streamed?"}, headers=ada.headers
    )
    assert_problem(streamed, 429, "quota_exceeded")
    assert usage_of(client, ada)["used"]["messages"] == STARTER_MESSAGES


def refresh_rotates_and_reuse_revokes_the_family(client: httpx.Client, ada: Person) -> None:
    first = ada.tokens
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != first["refresh_token"]
    ada.tokens = rotated.json()
    assert client.get("/api/v1/auth/me", headers=ada.headers).status_code == 200

    reused = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reused, 401, "refresh_token_reused")
    # The whole family is gone: the rotated refresh token, and (once the gateway hears of it)
    # the session's access tokens.
    again = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert again.status_code == 401, again.text
    eventually_blocking(
        lambda: client.get("/api/v1/auth/me", headers=ada.headers).status_code == 401,
        what="the revoked session refused at the gateway",
        timeout=10,
    )


def logout_revokes_the_access_token_at_once(client: httpx.Client, ada: Person) -> None:
    ada.tokens = log_in_with_second_factor(client, ada, ada.recovery_codes.pop())
    assert client.get("/api/v1/auth/me", headers=ada.headers).status_code == 200
    out = client.post("/api/v1/auth/logout", headers=ada.headers)
    assert out.status_code == 204, out.text
    refused = client.get("/api/v1/auth/me", headers=ada.headers)
    assert_problem(refused, 401, "invalid_token")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    gone = client.post("/api/v1/auth/refresh", json={"refresh_token": ada.tokens["refresh_token"]})
    assert gone.status_code == 401, gone.text


def a_second_tenant_sees_nothing_of_the_first(
    client: httpx.Client,
    ada: Person,
    bob: Person,
    journey: Journey,
    ada_events: list[SseEvent],
    bob_watch: BillingWatch,
) -> None:
    conversation = f"/api/v1/conversations/{journey.conversation_id}"
    mine = client.get("/api/v1/conversations", headers=bob.headers)
    assert mine.status_code == 200 and mine.json()["items"] == [], mine.text
    found = client.get("/api/v1/conversations/search", params={"q": "garden"}, headers=bob.headers)
    assert found.status_code == 200 and found.json()["items"] == [], found.text
    for method, path, body in (
        ("GET", conversation, None),
        ("GET", f"{conversation}/messages", None),
        ("PATCH", conversation, {"title": "mine now"}),
        ("DELETE", conversation, None),
    ):
        reply = client.request(method, path, json=body, headers=bob.headers)
        assert_problem(reply, 404, "conversation_not_found")
    cancel = client.post(f"/api/v1/chat/streams/{journey.stream_id}/cancel", headers=bob.headers)
    assert_problem(cancel, 404, "stream_not_found")

    usage = usage_of(client, bob)
    assert (usage["plan"], usage["used"]) == ("free", {"messages": 0, "tokens": 0})
    subscription = client.get("/api/v1/billing/subscription", headers=bob.headers).json()
    assert subscription["plan"] == "free"
    assert client.get("/api/v1/billing/invoices", headers=bob.headers).json()["items"] == []

    members = client.get("/api/v1/tenants/members", headers=bob.headers)
    assert members.status_code == 200, members.text
    assert [m["email"] for m in members.json()["items"]] == [bob.email]
    for method, body in (("PATCH", {"role": "member"}), ("DELETE", None)):
        reply = client.request(
            method, f"/api/v1/tenants/members/{ada.user_id}", json=body, headers=bob.headers
        )
        assert_problem(reply, 404, "member_not_found")
    revoke = client.delete(f"/api/v1/auth/sessions/{journey.session_id}", headers=bob.headers)
    assert_problem(revoke, 404, "session_not_found")

    # The first tenant's billing events (subscription, invoice, usage thresholds) went to its
    # own stream only, though the second tenant watched its stream all along.
    assert {e.data["tenantid"] for e in ada_events} == {ada.tenant_id}
    bob_events = bob_watch.stop()
    assert all(e.data["tenantid"] == bob.tenant_id for e in bob_events)
    assert not {e.id for e in ada_events} & {e.id for e in bob_events}

    # And the first tenant still has all of it.
    ada.tokens = log_in_with_second_factor(client, ada, ada.recovery_codes.pop())
    kept = client.get(conversation, headers=ada.headers)
    assert kept.status_code == 200 and kept.json()["title"] != "mine now", kept.text
    assert client.get("/api/v1/billing/subscription", headers=ada.headers).json()["plan"] == (
        "starter"
    )


# ------------------------------------------------------------------ the journey
# A dozen steps, each of which may wait up to 30 s for the system (about 10 s in all on an idle
# machine). The stack is the package's: its start-up counts here only when this test runs first,
# e.g. on its own (pytest-timeout times the fixture setup too).
@pytest.mark.timeout(300)
def test_the_product_journey_from_sign_up_to_the_plan_limit(stack: Stack) -> None:
    ada = Person("ada@journey.example", "Analytical Engines")
    bob = Person("bob@journey.example", "Difference Works")
    journey = Journey()
    with stack.client() as client:
        sign_up_and_verify_the_email(stack, client, ada)
        enable_totp(client, ada)
        log_in_with_totp(client, ada, journey)
        an_operator_lets_the_team_use_the_research_agent(stack, client, ada)
        chat_with_a_handoff_and_a_tool_over_sse(client, ada, journey)
        search_the_conversation(client, ada, journey)
        usage_is_counted_on_the_free_plan(client, ada, journey)

        sign_up(client, bob)
        ada_watch, bob_watch = BillingWatch(stack, ada), BillingWatch(stack, bob)
        subscribe_to_a_paid_plan_at_checkout(stack, client, ada, ada_watch)
        usage_is_counted_on_the_paid_plan(client, ada)
        the_quota_is_enforced(client, ada, ada_watch)
        ada_events = ada_watch.stop()

        refresh_rotates_and_reuse_revokes_the_family(client, ada)
        logout_revokes_the_access_token_at_once(client, ada)
        a_second_tenant_sees_nothing_of_the_first(client, ada, bob, journey, ada_events, bob_watch)
