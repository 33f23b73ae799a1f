"""What applying one Stripe event (or replaying it) did."""

from typing import Literal

Outcome = Literal["applied", "unchanged", "stale", "ignored"]

CHANGED: frozenset[str] = frozenset({"applied"})
