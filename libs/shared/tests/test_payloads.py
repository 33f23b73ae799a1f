"""Strict decoding of message bodies: every defect is an ``UndecodablePayload``, never a crash."""

from __future__ import annotations

import pytest

from agentbus_shared.bus.payloads import MAX_DEPTH, UndecodablePayload, decode_json


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b"", {}),
        (b"  ", {}),
        (b'{"a": [1, {"b": null}]}', {"a": [1, {"b": None}]}),
        ('{"name": "Zoë 中"}'.encode(), {"name": "Zoë 中"}),
        (b'"\\ud83d\\ude42"', "\U0001f642"),
        (b'{"a": "\\\\u0000"}', {"a": "\\u0000"}),
    ],
)
def test_valid_bodies_decode(body: bytes, value: object) -> None:
    assert decode_json(body) == value


def _nested_lists(depth: int) -> object:
    value: list[object] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_nesting_up_to_the_limit_is_accepted() -> None:
    body = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert decode_json(body) == _nested_lists(MAX_DEPTH)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b'{"a": ', "not valid JSON"),
        (b"{} {}", "not valid JSON"),
        (b"\xff\xfe", "not valid UTF-8"),
        (b'{"a": "\xc3\x28"}', "not valid UTF-8"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nests deeper"),
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
        (b'{"a": "x\\u0000"}', "NUL"),
        (b'{"\\u0000": 1}', "NUL"),
        (b'{"a": "\\ud800"}', "unpaired surrogate"),
        (b'{"\\udfff": 1}', "unpaired surrogate"),
    ],
)
def test_defects_are_undecodable(body: bytes, reason: str) -> None:
    with pytest.raises(UndecodablePayload, match=reason):
        decode_json(body)


def test_nul_may_be_kept_for_events_from_outside() -> None:
    assert decode_json(b'{"a": "x\\u0000"}', allow_nul=True) == {"a": "x\x00"}
