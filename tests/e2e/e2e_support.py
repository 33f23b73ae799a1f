"""The e2e suite's plan catalog (the built-in one's shape with limits small enough to reach) and
the account calls its modules share: the password people sign up with, the bearer header, signing up."""

from __future__ import annotations

from typing import Any

import httpx

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
