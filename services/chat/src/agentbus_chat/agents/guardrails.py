"""The input guardrail: blocks prompt-injection-looking and oversized input before any model call.

The SDK hands a guardrail the whole history; only the latest user turn is the
caller's new input, so only that is judged (an old message that once passed
must not block every later turn).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from agents import Agent, GuardrailFunctionOutput, InputGuardrail, RunContextWrapper

from agentbus_chat.llm.tokens import content_text, count_tokens

_INJECTION = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(ignore|disregard|forget|override)\b.{0,40}\b(previous|prior|above|earlier|all|your|the)\b"
        r".{0,40}\b(instructions?|prompts?|rules|guidelines|directives)\b",
        r"\b(reveal|show|print|repeat|leak|output)\b.{0,40}\b(system|hidden|initial|developer)\s+"
        r"(prompt|instructions?|message)",
        r"\byou are now\b.{0,60}\b(dan|jailbroken|unfiltered|unrestricted|developer mode)\b",
        r"\b(enable|enter|activate)\s+(dan|developer|god|jailbreak)\s+mode\b",
        r"\bdo anything now\b",
        r"<\s*/?\s*(system|im_start|im_end)\s*>",
        r"^\s*(system|assistant)\s*:",
    )
]


@dataclass(frozen=True)
class Screening:
    """Why an input was refused (``allowed`` False) and what to tell the caller."""

    allowed: bool
    code: str = ""
    message: str = ""


ALLOWED = Screening(allowed=True)


def screen(text: str, *, max_tokens: int) -> Screening:
    """Judge one user message: too large, or looking like a prompt injection."""
    tokens = count_tokens(text)
    if tokens > max_tokens:
        return Screening(
            allowed=False,
            code="input_too_large",
            message=f"The message is too long ({tokens} tokens; the limit is {max_tokens}).",
        )
    for pattern in _INJECTION:
        if pattern.search(text):
            return Screening(
                allowed=False,
                code="input_blocked",
                message="The message looks like an attempt to override the assistant's "
                "instructions and was not processed.",
            )
    return ALLOWED


def latest_user_text(input: str | list[Any]) -> str:
    if isinstance(input, str):
        return input
    for item in reversed(input):
        data = item if isinstance(item, dict) else {}
        if data.get("role") == "user" and data.get("type", "message") == "message":
            return content_text(data.get("content", ""))
    return ""


def input_screen(max_tokens: int) -> InputGuardrail[Any]:
    """The guardrail, run before the first model call (not in parallel with it)."""

    async def check(
        _: RunContextWrapper[Any], __: Agent[Any], input: str | list[Any]
    ) -> GuardrailFunctionOutput:
        verdict = screen(latest_user_text(input), max_tokens=max_tokens)
        return GuardrailFunctionOutput(output_info=verdict, tripwire_triggered=not verdict.allowed)

    return InputGuardrail(guardrail_function=check, name="input_screen", run_in_parallel=False)
