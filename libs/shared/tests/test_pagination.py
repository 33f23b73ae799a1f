"""The one keyset cursor codec: what every list accepts as a cursor, and what it refuses."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import column, table

from agentbus_shared.errors import InvalidCursor, problem_details
from agentbus_shared.pagination import cut_page, decode_cursor, encode_cursor, past_key


def _cursor_of(raw: bytes | str) -> str:
    data = raw.encode() if isinstance(raw, str) else raw
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _cursor_of_json(value: Any) -> str:
    return _cursor_of(json.dumps(value))


def test_a_cursor_round_trips_every_kind_of_sort_key() -> None:
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    cursor = encode_cursor(at, "conv_01J", 42, 0.25)

    assert decode_cursor(cursor, datetime, str, int, float) == (at, "conv_01J", 42, 0.25)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!nope",
        "not-a-cursor",
        "%%%",
        "",
        _cursor_of(b"\xff\xfe"),
        _cursor_of("not json"),
        _cursor_of_json({"a": 1}),
        _cursor_of_json("conv_01J"),
        _cursor_of_json(7),
        _cursor_of_json(None),
        _cursor_of("[" * 5000 + "]" * 5000),
    ],
)
def test_garbage_is_an_invalid_cursor(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, str)


@pytest.mark.parametrize(
    ("key", "types"),
    [
        ([1, 2], (datetime, str)),
        ([{"a": 1}], (str,)),
        ([["x"]], (str,)),
        ([None], (str,)),
        ([True], (int,)),
        ([1.5], (int,)),
        (["7"], (int,)),
        ([2**63], (int,)),
        ([-(2**63) - 1], (int,)),
        (["0.5", 1], (float, int)),
        ([False, 1], (float, int)),
        ([10**400, 1], (float, int)),
        (["2026-03-01T12:00:00", "id"], (datetime, str)),
        (["yesterday", "id"], (datetime, str)),
        (["2026-03-01T12:00:00+00:00", 5], (datetime, str)),
        (["", "id"], (datetime, str)),
        (["0001-01-01T00:00:00+14:00", "id"], (datetime, str)),  # no UTC time: asyncpg raised
        (["9999-12-31T23:59:59-14:00", "id"], (datetime, str)),
        (["a\u0000b"], (str,)),
        (["x" * 300], (str,)),
        ([""], (str,)),
        (["id", "extra"], (str,)),
        ([], (str,)),
    ],
)
def test_a_type_confused_cursor_is_an_invalid_cursor(
    key: list[Any], types: tuple[type, ...]
) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(_cursor_of_json(key), *types)


@pytest.mark.parametrize("raw", ["[NaN, 1]", "[Infinity, 1]", "[-Infinity, 1]", '["\\ud800"]'])
def test_numbers_and_texts_no_database_takes_are_invalid_cursors(raw: str) -> None:
    types = (str,) if "ud800" in raw else (float, int)
    with pytest.raises(InvalidCursor):
        decode_cursor(_cursor_of(raw), *types)


def test_an_invalid_cursor_is_one_400_problem() -> None:
    problem = problem_details(InvalidCursor())

    assert (problem["status"], problem["code"]) == (400, "invalid_cursor")


def test_past_key_selects_the_rows_after_a_key_in_either_order() -> None:
    rows = table("rows", column("at"), column("id"))
    newest_first = past_key((rows.c.at, rows.c.id), (1, "b"), descending=True)
    oldest_first = past_key((rows.c.at, rows.c.id), (1, "b"), descending=False)
    assert str(newest_first) == "(rows.at, rows.id) < (:param_1, :param_2)"
    assert str(oldest_first) == "(rows.at, rows.id) > (:param_1, :param_2)"


def test_a_page_keeps_limit_rows_and_a_cursor_only_when_more_follow() -> None:
    fetched = [("c", 3), ("b", 2), ("a", 1)]

    kept, next_cursor = cut_page(fetched, 2, lambda row: (row[0], row[1]))
    assert kept == [("c", 3), ("b", 2)]
    assert next_cursor is not None
    assert decode_cursor(next_cursor, str, int) == ("b", 2)

    assert cut_page(fetched, 3, lambda row: (row[0],)) == (fetched, None)
    assert cut_page([], 3, lambda row: (row,)) == ([], None)
