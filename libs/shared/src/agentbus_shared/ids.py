"""Identifiers: prefixed, time-ordered, URL-safe.

``new_id("t")`` → ``t_01JD4W9V4X8ZC7M5Q3R2S1T0VA``: a ULID (48-bit millisecond
time + 80 random bits, Crockford base32) behind a type prefix, so ids sort by
creation time (useful for cursors) and say what they name in logs.
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(timestamp_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    value = (ms << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"
