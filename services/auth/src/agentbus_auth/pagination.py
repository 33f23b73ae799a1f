"""Opaque list cursors: the sort key of the last item, base64url-encoded JSON."""

from __future__ import annotations

import base64
import json
from typing import Any

from agentbus_shared.errors import BadRequest


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The key encoded in ``cursor`` (``None`` for the first page); 400 when it is not ours."""
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from None
    if not isinstance(value, list) or len(value) != size:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor")
    return value
