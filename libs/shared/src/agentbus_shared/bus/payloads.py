"""Decoding message bodies strictly: UTF-8 JSON, bounded nesting, no NUL characters.

RPC operations and durable consumers decode their bodies here rather than with FastStream's
default decoder, which lets undecodable bytes through as ``bytes`` (or raises a bare
``JSONDecodeError`` / ``RecursionError`` for a JSON content type): both surfaced as internal
errors. Here every defect is an :class:`UndecodablePayload` with a reason a client may see.

NUL (``\\u0000``) is refused because no field of any contract needs it and PostgreSQL cannot
store it in ``text`` or ``jsonb``: refused at the door, it never becomes a database error.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects a request may have (contracts nest a few levels)."""

EVENT_MAX_DEPTH = 64
"""Events from outside (Stripe's objects expand a few levels more) may nest deeper."""


class UndecodablePayload(ValueError):
    """The body is not UTF-8 JSON, nests too deeply, or holds a NUL character or an unpaired
    surrogate escape (``"\\ud800"``: valid JSON, but no text)."""


def decode_json(body: bytes, *, max_depth: int = MAX_DEPTH, allow_nul: bool = False) -> Any:
    """The JSON value of ``body``; an empty body is ``{}`` (an operation without input).

    ``allow_nul``: keep NUL characters (events from outside, such as Stripe's, are stored as
    received; their consumers make them storable).
    """
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UndecodablePayload("The message body is not valid UTF-8.") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise UndecodablePayload(
            f"The message body nests deeper than {max_depth} levels."
        ) from None
    except ValueError:
        raise UndecodablePayload("The message body is not valid JSON.") from None
    _check_tree(value, max_depth, allow_nul)
    return value


def _check_tree(value: Any, max_depth: int, allow_nul: bool) -> None:
    """Walk the decoded value (iteratively: no recursion limit to hit) for depth and NUL."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item, allow_nul)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            raise UndecodablePayload(f"The message body nests deeper than {max_depth} levels.")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, allow_nul)
                pending.append((child, depth + 1))
        else:
            pending.extend((child, depth + 1) for child in item)


def _check_text(text: str, allow_nul: bool) -> None:
    if not allow_nul and "\x00" in text:
        raise UndecodablePayload("The message body contains a NUL character.")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
            raise UndecodablePayload("The message body contains an unpaired surrogate.") from None
