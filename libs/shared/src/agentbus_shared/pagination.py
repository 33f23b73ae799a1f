"""Opaque keyset cursors: the sort key of a page's last row, as URL-safe base64 JSON.

Every list of every service pages with these two functions, selects the rows past a cursor's
key with :func:`past_key` and cuts the ``limit + 1`` rows it fetched with :func:`cut_page`
(:func:`newest_first` does all three for a list ordered by time). Decoding checks each part of
the key against the type the list expects, so a cursor the list did not make (garbage,
another list's, a hand-made ``[1, 2]`` or ``[{"a": 1}]``) is :class:`InvalidCursor`
(400 ``invalid_cursor``) before it reaches a query, never a 500 deeper down.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_shared.errors import InvalidCursor

KeyPart = str | int | float | datetime
"""What a sort key is made of: ids and texts, sequence numbers, ranks, times."""

T = TypeVar("T")

_INT64 = 2**63
_MAX_TEXT = 256


def encode_cursor(*key: KeyPart) -> str:
    """The cursor of a page that ends at the row with sort key ``key``."""
    parts = [part.isoformat() if isinstance(part, datetime) else part for part in key]
    raw = json.dumps(parts, separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type[KeyPart]) -> tuple[Any, ...]:
    """The sort key in ``cursor``, one part of each of ``types`` in order.

    Raises :class:`InvalidCursor` when the cursor is not base64 JSON, not a list of
    ``len(types)`` parts, or a part is not of its type (a ``bool`` is no ``int``, a
    number is no text, a time needs its offset, no NaN, no NUL, no 65-bit integers).
    """
    key = _json_list(cursor)
    if len(key) != len(types):
        raise InvalidCursor()
    return tuple(_PARSERS[kind](value) for kind, value in zip(types, key, strict=True))


def _json_list(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, RecursionError):
        raise InvalidCursor() from None
    if not isinstance(key, list):
        raise InvalidCursor()
    return key


def _text(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_TEXT or "\x00" in value:
        raise InvalidCursor()
    try:
        value.encode("utf-8")  # a lone surrogate ("\ud800") decodes but no database stores it
    except UnicodeEncodeError:
        raise InvalidCursor() from None
    return value


def _integer(value: Any) -> int:
    if type(value) is not int or not -_INT64 <= value < _INT64:
        raise InvalidCursor()
    return value


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise InvalidCursor()
    try:
        number = float(value)
    except OverflowError:
        raise InvalidCursor() from None
    if not math.isfinite(number):
        raise InvalidCursor()
    return number


def _time(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        raise InvalidCursor() from None
    if moment.tzinfo is None:
        raise InvalidCursor()
    try:
        moment.astimezone(UTC)  # the database compares in UTC: year 1 at +14:00 has no UTC time
    except OverflowError:
        raise InvalidCursor() from None
    return moment


_PARSERS: dict[type[KeyPart], Callable[[Any], KeyPart]] = {
    str: _text,
    int: _integer,
    float: _number,
    datetime: _time,
}


def past_key(
    columns: Sequence[ColumnElement[Any]], key: Sequence[KeyPart], *, descending: bool
) -> ColumnElement[bool]:
    """The rows after the one with sort key ``key`` in the list's order of ``columns``
    (a row-value comparison, so ties on the first column are broken by the next)."""
    row, last = tuple_(*columns), tuple_(*key)
    return row < last if descending else row > last


def cut_page(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[KeyPart]]
) -> tuple[list[T], str | None]:
    """The first ``limit`` of ``rows`` (fetched as ``limit + 1`` to learn whether more follow)
    and the cursor of the next page, made of ``key`` of the last row kept; ``None`` on the last page."""
    if len(rows) <= limit:
        return list(rows), None
    return list(rows[:limit]), encode_cursor(*key(rows[limit - 1]))


async def newest_first(
    session: AsyncSession,
    query: Select[Any],
    order: tuple[ColumnElement[datetime], ColumnElement[str]],
    read: Callable[[Row[Any]], T],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """Up to ``limit`` rows of ``query`` past ``cursor``, newest first by ``order`` (a time, then
    a key breaking its ties), each as ``read`` makes it, and the next page's cursor."""
    time, key = order
    if cursor:
        query = query.where(past_key(order, decode_cursor(cursor, datetime, str), descending=True))
    ordered = query.order_by(time.desc(), key.desc()).limit(limit + 1)
    rows, next_cursor = cut_page(
        (await session.execute(ordered)).all(),
        limit,
        lambda row: (row._mapping[time], row._mapping[key]),
    )
    return [read(row) for row in rows], next_cursor
