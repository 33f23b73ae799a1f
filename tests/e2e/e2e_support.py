"""The e2e suite's plan catalog: the built-in one's shape with limits small enough to reach."""

from __future__ import annotations

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
