"""The e2e suite's plan catalog (the built-in one's shape with limits small enough to reach) and
what its modules share: the password people sign up with, the bearer header, signing up (as a
verified owner), joining a team by invite, paying at the Stripe stand-in's checkout and watching
a server-sent event stream on a thread."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import httpx

from agentbus_shared.testing.stack import SseEvent, Stack, read_sse
from agentbus_shared.testing.waiting import eventually_blocking

PASSWORD = "glacier-violin-tangerine-42"

STARTER_MESSAGES = 3
FREE_MESSAGES = 20

CATALOG = f"""
default_plan = "free"

[[plans]]
code = "free"
name = "Free"
price_cents = 0
features = ["chat"]
limits = {{ messages = {FREE_MESSAGES}, tokens = 1000000, seats = 3 }}

[[plans]]
code = "starter"
name = "Starter"
price_cents = 1900
lookup_key = "agentbus_starter_month"
features = ["chat", "tools"]
limits = {{ messages = {STARTER_MESSAGES}, seats = 10 }}

[[meters]]
meter = "messages"
event_name = "agentbus_messages"
display_name = "Agent messages"

[[meters]]
meter = "tokens"
event_name = "agentbus_tokens"
display_name = "Model tokens"
"""


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The Authorization header carrying ``tokens``' access token."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def register(client: httpx.Client, email: str, tenant_name: str) -> httpx.Response:
    """Sign ``email`` up as the owner of a new tenant."""
    return client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD, "tenant_name": tenant_name},
    )


def verified_owner(client: httpx.Client, stack: Stack, email: str) -> dict[str, Any]:
    """A new tenant's owner with a verified email (who may invite); their tokens."""
    tokens: dict[str, Any] = register(client, email, "Mills").json()["tokens"]
    code = stack.mailed_code(email, "verify_email")
    client.post("/api/v1/auth/email/verify", json={"code": code}, headers=bearer(tokens))
    return tokens


def member_of(
    client: httpx.Client, stack: Stack, owner: dict[str, Any], email: str, **joining: str
) -> Any:
    """``email`` invited into the owner's tenant and joined (with ``joining``'s fields, e.g. a
    display name); the answer with its tokens."""
    invite = {"email": email, "role": "member"}
    client.post("/api/v1/tenants/invites", json=invite, headers=bearer(owner))
    accept = {"token": stack.mailed_invite(email), "password": PASSWORD, **joining}
    return client.post("/api/v1/tenants/invites/accept", json=accept).json()


def pay_at_checkout(stack: Stack, checkout_url: str) -> None:
    """At "Stripe": open the stand-in's checkout page and press its pay button (a form post,
    then back to the app's billing page)."""
    page = httpx.get(checkout_url, timeout=30)
    assert page.status_code == 200, page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action, page.text
    paid = httpx.post(urljoin(checkout_url, action.group(1)), timeout=30)
    assert paid.status_code == 303, paid.text
    assert paid.headers["location"].startswith(f"{stack.gateway_url}/billing?checkout=success")


class StreamWatch:
    """Reads a ``GET`` server-sent event stream (``path``) on a thread from now until stopped."""

    def __init__(self, stack: Stack, headers: dict[str, str], path: str) -> None:
        self.path = path
        self.events: list[SseEvent] = []
        self.error: httpx.HTTPError | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._status = 0
        self._thread = threading.Thread(target=self._read, args=(stack, dict(headers)), daemon=True)
        self._thread.start()
        assert self._ready.wait(30), f"{path} did not open"
        assert self._status == 200, f"{path} answered {self._status}"

    def _read(self, stack: Stack, headers: dict[str, str]) -> None:
        try:
            with (
                stack.client() as client,
                client.stream("GET", self.path, headers=headers) as reply,
            ):
                self._status = reply.status_code
                self._ready.set()
                if reply.status_code == 200:
                    self.events.extend(read_sse(_Until(reply, self._stop)))
        except httpx.HTTPError as exc:
            self.error = exc  # the stack went away under the reader (a failed run's teardown)
            self._ready.set()

    def wait_for(self, matches: Callable[[SseEvent], bool], what: str) -> SseEvent:
        """The first event that ``matches``, once it has arrived."""

        def seen() -> SseEvent | None:
            return next((e for e in list(self.events) if matches(e)), None)

        return eventually_blocking(seen, what=f"{what} on {self.path}")

    def stop(self) -> list[SseEvent]:
        """Stop at the next line (the gateway sends a heartbeat every second here)."""
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), f"{self.path} did not stop"
        assert self.error is None, repr(self.error)
        return list(self.events)


class _Until:
    """A response whose lines end once ``stop`` is set (heartbeats wake the reader)."""

    def __init__(self, response: httpx.Response, stop: threading.Event) -> None:
        self._response = response
        self._stop = stop

    def iter_lines(self) -> Iterator[str]:
        for line in self._response.iter_lines():
            if self._stop.is_set():
                return
            yield line
