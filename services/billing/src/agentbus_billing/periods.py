"""Billing periods: a subscription's Stripe period when it covers the moment, else the calendar month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def calendar_month(at: datetime) -> Period:
    at = at.astimezone(UTC)
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    end = datetime(at.year + (at.month == 12), at.month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


def period_at(at: datetime, start: datetime | None, end: datetime | None) -> Period:
    """The period that ``at`` falls in, given the subscription's current Stripe period (if any)."""
    if start is not None and end is not None and start <= at < end:
        return Period(start, end)
    return calendar_month(at)


def from_unix(value: object) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return None
