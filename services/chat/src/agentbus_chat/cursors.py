"""Opaque keyset cursors: the sort key of a page's last row, as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from agentbus_shared.errors import ValidationFailed


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    default_message = "The cursor is not valid for this list."


def encode(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, *types: Callable[[Any], Any]) -> tuple[Any, ...]:
    """The key of ``cursor``, each part converted with ``types`` (raises :class:`InvalidCursor`)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, list) or len(key) != len(types):
            raise InvalidCursor()
        return tuple(convert(value) for convert, value in zip(types, key, strict=True))
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise InvalidCursor() from None
