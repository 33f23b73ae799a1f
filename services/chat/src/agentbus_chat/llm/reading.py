"""How the builtin model reads a request: the turn, intents, arithmetic, time zones, topics, replies.

Deterministic pattern matching over the latest user message and the history
the SDK hands the model; no language understanding is claimed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from agents.items import TResponseInputItem

from agentbus_chat.llm.tokens import content_text, item_text

HANDOFF_PREFIX = "transfer_to_"


# ------------------------------------------------------------------ what to do next
@dataclass(frozen=True)
class ToolCallStep:
    name: str
    arguments: str


@dataclass(frozen=True)
class MessageStep:
    text: str


Step = ToolCallStep | MessageStep


@dataclass(frozen=True)
class Turn:
    """The conversation as the model sees it: the latest user message and what followed it."""

    user_text: str
    earlier_user_texts: list[str]
    calls: list[Mapping[str, Any]]
    outputs: dict[str, str]

    @classmethod
    def of(cls, input: str | list[TResponseInputItem]) -> Turn:
        items: list[Mapping[str, Any]] = (
            [{"role": "user", "content": input}]
            if isinstance(input, str)
            else [_mapping(i) for i in input]
        )
        last_user = max((i for i, item in enumerate(items) if _is_user_message(item)), default=-1)
        user_text = content_text(items[last_user].get("content", "")) if last_user >= 0 else ""
        earlier = [
            content_text(item.get("content", ""))
            for item in items[:last_user]
            if _is_user_message(item)
        ]
        after = items[last_user + 1 :]
        calls = [item for item in after if item.get("type") == "function_call"]
        outputs = {
            str(item.get("call_id")): item_text(item)
            for item in after
            if item.get("type") == "function_call_output"
        }
        return cls(user_text, earlier, calls, outputs)

    @property
    def handed_off(self) -> bool:
        return any(str(c.get("name", "")).startswith(HANDOFF_PREFIX) for c in self.calls)

    def called(self, tool: str) -> bool:
        return any(c.get("name") == tool for c in self.calls)

    def tool_results(self) -> list[str]:
        return [
            self.outputs[str(c.get("call_id"))]
            for c in self.calls
            if not str(c.get("name", "")).startswith(HANDOFF_PREFIX)
            and str(c.get("call_id")) in self.outputs
        ]


# ------------------------------------------------------------------ understanding requests
_ARITHMETIC = re.compile(
    r"(?:sqrt|abs|round|min|max|floor|ceil|log10|log|pi|[\d.]+|[-+*/%^()\u00d7\u00f7,]|\s)+"
)
_OPERATOR_BETWEEN = re.compile(r"[\d)]\s*(?:\*\*|//|[-+*/%^\u00d7\u00f7])\s*[-\d(a-z.]")
_SPOKEN_OPERATORS = (
    (re.compile(r"\bplus\b"), "+"),
    (re.compile(r"\bminus\b"), "-"),
    (re.compile(r"\b(?:times|multiplied by)\b"), "*"),
    (re.compile(r"\bdivided by\b"), "/"),
    (re.compile(r"\bto the power of\b"), "^"),
    (re.compile(r"\bsquare root of\s+([\d.]+)"), r"sqrt(\1)"),
)
_TIME_QUESTION = re.compile(
    r"\b(what time|current time|time is it|time now|time in|what day|what date|today'?s date|"
    r"date today)\b",
    re.IGNORECASE,
)
_IANA_ZONE = re.compile(
    r"\b((?:Africa|America|Asia|Atlantic|Australia|Europe|Pacific)/[A-Za-z_]+)\b"
)
_CITY_ZONES = {
    "paris": "Europe/Paris",
    "london": "Europe/London",
    "berlin": "Europe/Berlin",
    "madrid": "Europe/Madrid",
    "new york": "America/New_York",
    "san francisco": "America/Los_Angeles",
    "los angeles": "America/Los_Angeles",
    "chicago": "America/Chicago",
    "tokyo": "Asia/Tokyo",
    "singapore": "Asia/Singapore",
    "sydney": "Australia/Sydney",
    "utc": "UTC",
}
_SEARCH_REQUEST = re.compile(
    r"\b(search|find|look up|lookup|recall)\b.{0,60}\b(conversations?|messages?|chats?|earlier|"
    r"before|previous|history|said|asked|wrote)\b|\b(did|have) (i|we) (talk|ask|mention|say|"
    r"discuss|write)",
    re.IGNORECASE,
)
_SEARCH_TOPIC = re.compile(
    r"\b(?:about|for|mentioning|mention|mentioned|regarding)\s+[\"“']?([^\"”'?!.]{2,120})",
    re.IGNORECASE,
)
_BILLING = re.compile(
    r"\b(bill|billing|billed|invoice|plan|subscription|subscribed|payment|pay|paid|charge|"
    r"charged|price|pricing|cost|quota|usage|limit|limits|refund|upgrade|downgrade)s?\b",
    re.IGNORECASE,
)
_RECALL_QUESTION = re.compile(
    r"\bwhat(?:'s| is| was| were| are)\s+my\s+([a-z][a-z ]{0,40}?)\s*\??\s*$", re.IGNORECASE
)
_FACT = re.compile(
    r"\bmy\s+([a-z][a-z ]{0,40}?)\s+(?:is|was|are)\s+([^.!?\n]{1,120})", re.IGNORECASE
)
_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|greetings)\b", re.I)
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "is",
        "are",
        "was",
        "were",
        "be",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "about",
        "what",
        "when",
        "where",
        "which",
        "who",
        "how",
        "did",
        "do",
        "does",
        "have",
        "has",
        "had",
        "can",
        "could",
        "would",
        "should",
        "please",
        "search",
        "find",
        "look",
        "up",
        "conversation",
        "conversations",
        "message",
        "messages",
        "earlier",
        "before",
        "previous",
        "that",
        "this",
        "there",
        "any",
        "and",
        "or",
    ]
)

_PERSONA_REPLIES = {
    "triage": (
        "I can help with product problems, billing and plans, or research and calculations. "
        "Tell me a little more about what you need and I will bring in the right specialist."
    ),
    "support": (
        "Let's sort this out. First make sure you are signed in and on the latest version, "
        "then try the action again. If it still fails, send me the exact error message and "
        "what you did just before it, and I will walk you through the fix."
    ),
    "billing": (
        "I can explain your plan, subscription, invoices and usage. Ask me about any of them "
        "and I will look up the current figures."
    ),
    "research": (
        "Here is how I would approach it: state the question precisely, gather the figures, "
        "and compare them step by step. Give me the numbers and I will calculate them exactly."
    ),
}


def arithmetic_expression(text: str) -> str | None:
    """The longest arithmetic expression in ``text`` (spoken operators understood), if any."""
    lowered = text.lower()
    for pattern, replacement in _SPOKEN_OPERATORS:
        lowered = pattern.sub(replacement, lowered)
    best = ""
    for match in _ARITHMETIC.finditer(lowered):
        candidate = match.group(0).strip().rstrip("?.,").strip()
        if len(candidate) > len(best) and _OPERATOR_BETWEEN.search(candidate):
            best = candidate
    if not best:
        return None
    try:
        compile(
            best.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/"), "<expr>", "eval"
        )
    except SyntaxError:
        return None
    return best


def time_zone(text: str) -> str:
    match = _IANA_ZONE.search(text)
    if match:
        return match.group(1)
    lowered = text.lower()
    for city, zone in _CITY_ZONES.items():
        if re.search(rf"\b{re.escape(city)}\b", lowered):
            return zone
    return "UTC"


def search_query(text: str) -> str:
    match = _SEARCH_TOPIC.search(text)
    if match:
        return match.group(1).strip()[:256]
    kept = [w for w in re.findall(r"[\w'-]+", text.lower()) if w not in _STOPWORDS]
    return " ".join(kept)[:256] or text.strip()[:256]


def tool_arguments(tool: str, text: str) -> dict[str, Any] | None:
    """Arguments for ``tool`` if ``text`` asks for what it does, else None."""
    if tool == "calculator":
        expression = arithmetic_expression(text)
        return {"expression": expression} if expression else None
    if tool == "current_time":
        return {"timezone": time_zone(text)} if _TIME_QUESTION.search(text) else None
    if tool == "search_conversations":
        return {"query": search_query(text)} if _SEARCH_REQUEST.search(text) else None
    if tool == "billing_summary":
        return {} if _BILLING.search(text) else None
    return None


def answer(agent: str, turn: Turn) -> str:
    """The reply of ``agent``: from tool results, from what the user said earlier, or its persona."""
    name = agent
    results = turn.tool_results()
    if results:
        lead = {
            "billing": "Here is your billing overview.",
            "research": "Here is the result.",
            "support": "Here is what I found.",
        }.get(name, "Here you go.")
        return f"{lead} {' '.join(r.strip() for r in results)}"
    recall = _RECALL_QUESTION.search(turn.user_text)
    if recall:
        subject = recall.group(1).strip().lower()
        for earlier in reversed(turn.earlier_user_texts):
            for fact in _FACT.finditer(earlier):
                if fact.group(1).strip().lower() == subject:
                    return f"Your {subject} is {fact.group(2).strip()}."
        return f"You have not told me your {subject} yet. Tell me and I will remember it."
    statement = _FACT.search(turn.user_text)
    # A specialist treats "my page is broken" as a request, not a fact to remember.
    noting = name == "triage" or "remember" in turn.user_text.lower()
    if statement and noting and not turn.user_text.rstrip().endswith("?"):
        subject, value = statement.group(1).strip().lower(), statement.group(2).strip()
        return f"Noted: your {subject} is {value}. I will remember that."
    if _GREETING.search(turn.user_text):
        return f"Hello! I am the {name} agent. " + _PERSONA_REPLIES.get(name, "How can I help?")
    return _PERSONA_REPLIES.get(name, "I am here to help. Could you tell me more?")


def _is_user_message(item: Mapping[str, Any]) -> bool:
    return item.get("role") == "user" and item.get("type", "message") == "message"


def _mapping(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    dump = getattr(item, "model_dump", None)
    return cast(Mapping[str, Any], dump(exclude_unset=True)) if callable(dump) else {}
