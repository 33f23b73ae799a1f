"""People in a feed item's summary are named when it is read, not when it is written.

A summary is stored with a mark for each user it mentions; reading it puts in the name the
service knows then (learned from ``user.registered``). So an item made before its people's
registration arrived (events out of order, a replay) still names them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_OPEN, _CLOSE, _START = "\ue002", "\ue003", "^"
_MARK = re.compile(f"{_OPEN}(\\^?)([a-z]{{1,8}}_[A-Za-z0-9]{{1,64}}){_CLOSE}")
UNKNOWN = "a member"


def mark(user_id: str, *, sentence_start: bool = False) -> str:
    """The place of ``user_id``'s name in a summary."""
    return f"{_OPEN}{_START if sentence_start else ''}{user_id}{_CLOSE}"


def plain(text: str) -> str:
    """Text from an event (a name, a reason) as it may stand in a summary: never a mark."""
    return text.replace(_OPEN, "").replace(_CLOSE, "")


def mentioned(summary: str) -> set[str]:
    """The user ids a stored summary names."""
    return {match.group(2) for match in _MARK.finditer(summary)}


def label(user_id: str, labels: Mapping[str, str], *, sentence_start: bool = False) -> str:
    name = labels.get(user_id, UNKNOWN)
    return name[:1].upper() + name[1:] if sentence_start else name


def render(summary: str, labels: Mapping[str, str]) -> str:
    """A stored summary with its people's names (``a member`` for one not known)."""
    return _MARK.sub(
        lambda match: label(match.group(2), labels, sentence_start=bool(match.group(1))), summary
    )
