"""A cheap, deterministic token estimate, and the text inside SDK input items.

Used where no provider counts for us: the builtin model's usage, the memory's
token budget, the input guardrail's size limit, and the usage of a call cut
short by a cancel. A word or a punctuation mark counts as one token, which is
close to what BPE tokenizers give for English prose.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\s*\S+\s*")


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))


def words(text: str) -> list[str]:
    """``text`` cut into words that keep their surrounding spaces (they join back to ``text``)."""
    return _WORD.findall(text) or ([text] if text else [])


def item_text(item: Any) -> str:
    """The human-readable text of one input item (message, tool call or tool output)."""
    data = _as_mapping(item)
    kind = data.get("type")
    if kind == "function_call":
        return f"{data.get('name', '')} {data.get('arguments', '')}"
    if kind == "function_call_output":
        output = data.get("output", "")
        return output if isinstance(output, str) else json.dumps(output, default=str)
    return content_text(data.get("content", ""))


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, Iterable):
        parts = []
        for part in content:
            data = _as_mapping(part)
            text = data.get("text") or data.get("refusal")
            if isinstance(text, str):
                parts.append(text)
        return "".join(parts)
    return ""


def item_tokens(item: Any) -> int:
    # A few tokens of framing per item, as chat formats add role markers.
    return count_tokens(item_text(item)) + 3


def _as_mapping(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    dump = getattr(item, "model_dump", None)
    if callable(dump):
        result = dump(exclude_unset=True)
        if isinstance(result, Mapping):
            return result
    return {}
