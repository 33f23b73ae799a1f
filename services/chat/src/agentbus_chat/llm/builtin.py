"""The builtin model: deterministic, offline, and a real participant in the agent loop.

It implements the SDK's :class:`Model` interface the way a provider does, so
the product works end to end without one:

- it routes: on an agent with handoffs, a request whose words match a
  specialist's intents becomes that handoff's function call;
- it calls tools: when the request asks for something a tool of the current
  agent provides, it emits the call with arguments built for, and checked
  against, the tool's JSON schema;
- it answers from the tool results, from what the user said earlier in the
  conversation (its memory), or from the agent's persona;
- it streams word by word (``token_delay`` seconds apart) and reports usage
  counted with :func:`count_tokens`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import jsonschema
from agents import Handoff, ModelResponse, ModelSettings, Tool, Usage
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from agentbus_chat.agents.catalog import AgentSpec
from agentbus_chat.llm.tokens import content_text, count_tokens, item_text, words
from agentbus_shared.ids import new_id

MODEL_NAME = "builtin"
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


class BuiltinModel(Model):
    """A deterministic model that routes, calls tools and answers; see the module docstring."""

    def __init__(self, agents: Mapping[str, AgentSpec], *, token_delay: float = 0.0) -> None:
        self._agents = dict(agents)
        self._by_instructions = {spec.instructions: spec for spec in agents.values()}
        self._intents = {
            name: [re.compile(rf"\b{re.escape(word)}", re.IGNORECASE) for word in spec.intents]
            for name, spec in agents.items()
        }
        self.token_delay = token_delay

    # ------------------------------------------------------------ Model interface
    async def get_response(  # noqa: PLR0917 - the SDK's Model interface
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> ModelResponse:
        step = self.plan(system_instructions, input, tools, handoffs)
        usage = self._usage(system_instructions, input, tools, step)
        return ModelResponse(
            output=[_output_item(step)],
            usage=Usage(
                requests=1,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
            ),
            response_id=new_id("resp"),
        )

    async def stream_response(  # noqa: PLR0917 - the SDK's Model interface
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None,
        conversation_id: str | None,
        prompt: ResponsePromptParam | None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        step = self.plan(system_instructions, input, tools, handoffs)
        usage = self._usage(system_instructions, input, tools, step)
        stream = _StreamWriter(new_id("resp"))
        yield stream.created()
        if isinstance(step, MessageStep):
            message_id = new_id("msg")
            yield stream.message_added(message_id)
            yield stream.content_part_added(message_id)
            pieces = words(step.text)
            for index, piece in enumerate(pieces):
                if index and self.token_delay > 0:
                    await asyncio.sleep(self.token_delay)
                yield stream.text_delta(message_id, piece)
            for event in stream.message_done(message_id, step.text):
                yield event
            item = _output_item(step, item_id=message_id)
        else:
            item = _output_item(step)
            for event in stream.function_call(cast(ResponseFunctionToolCall, item)):
                yield event
        yield stream.completed(item, usage)

    # ------------------------------------------------------------ deciding
    def plan(
        self,
        instructions: str | None,
        input: str | list[TResponseInputItem],
        tools: Sequence[Tool],
        handoffs: Sequence[Handoff],
    ) -> Step:
        """The next step: a handoff, a tool call, or the answer."""
        turn = Turn.of(input)
        agent = self._by_instructions.get(instructions or "")
        tool_names = {getattr(t, "name", "") for t in tools}
        if handoffs and not turn.handed_off:
            target = self._route(turn.user_text, handoffs, tool_names)
            if target is not None:
                return ToolCallStep(target.tool_name, "{}")
        for tool in tools:
            name = getattr(tool, "name", "")
            if turn.called(name):
                continue
            arguments = self._arguments_for(name, turn.user_text)
            if arguments is not None and _valid(arguments, getattr(tool, "params_json_schema", {})):
                return ToolCallStep(name, json.dumps(arguments))
        return MessageStep(self._answer(agent, turn))

    def _route(self, text: str, handoffs: Sequence[Handoff], own_tools: set[str]) -> Handoff | None:
        expression = arithmetic_expression(text) is not None
        best: tuple[int, Handoff] | None = None
        for handoff in handoffs:
            spec = self._agents.get(handoff.agent_name)
            if spec is None:
                continue
            score = sum(1 for p in self._intents[spec.name] if p.search(text))
            if expression and "calculator" in spec.tools and "calculator" not in own_tools:
                score += 2
            if score and (best is None or score > best[0]):
                best = (score, handoff)
        return best[1] if best else None

    @staticmethod
    def _arguments_for(tool: str, text: str) -> dict[str, Any] | None:
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

    @staticmethod
    def _answer(agent: AgentSpec | None, turn: Turn) -> str:
        name = agent.name if agent else "assistant"
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

    @staticmethod
    def _usage(
        instructions: str | None,
        input: str | list[TResponseInputItem],
        tools: Sequence[Tool],
        step: Step,
    ) -> ResponseUsage:
        items = [input] if isinstance(input, str) else input
        prompt = count_tokens(instructions or "") + sum(
            count_tokens(i) if isinstance(i, str) else count_tokens(item_text(i)) + 3 for i in items
        )
        prompt += sum(count_tokens(json.dumps(getattr(t, "params_json_schema", {}))) for t in tools)
        output = (
            count_tokens(step.text)
            if isinstance(step, MessageStep)
            else count_tokens(f"{step.name} {step.arguments}")
        )
        return ResponseUsage(
            input_tokens=prompt,
            output_tokens=output,
            total_tokens=prompt + output,
            input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
            output_tokens_details=OutputTokensDetails(reasoning_tokens=0),
        )


# ------------------------------------------------------------------ Responses stream events
class _StreamWriter:
    """Builds the Responses API stream events of one response, numbering them in order."""

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.sequence = 0

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence - 1

    def _response(self, output: list[Any], usage: ResponseUsage | None, status: str) -> Response:
        return Response(
            id=self.response_id,
            created_at=0,
            model=MODEL_NAME,
            object="response",
            output=output,
            tool_choice="auto",
            tools=[],
            top_p=None,
            parallel_tool_calls=False,
            status=cast(Any, status),
            usage=usage,
        )

    def created(self) -> TResponseStreamEvent:
        return ResponseCreatedEvent(
            type="response.created",
            response=self._response([], None, "in_progress"),
            sequence_number=self._next(),
        )

    def message_added(self, item_id: str) -> TResponseStreamEvent:
        return cast(
            TResponseStreamEvent,
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=ResponseOutputMessage(
                    id=item_id, type="message", role="assistant", status="in_progress", content=[]
                ),
                output_index=0,
                sequence_number=self._next(),
            ),
        )

    def text_delta(self, item_id: str, text: str) -> TResponseStreamEvent:
        return ResponseTextDeltaEvent(
            type="response.output_text.delta",
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=text,
            logprobs=[],
            sequence_number=self._next(),
        )

    def message_done(self, item_id: str, text: str) -> list[TResponseStreamEvent]:
        part = ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])
        return [
            ResponseTextDoneEvent(
                type="response.output_text.done",
                item_id=item_id,
                output_index=0,
                content_index=0,
                text=text,
                logprobs=[],
                sequence_number=self._next(),
            ),
            cast(
                TResponseStreamEvent,
                ResponseContentPartDoneEvent(
                    type="response.content_part.done",
                    item_id=item_id,
                    output_index=0,
                    content_index=0,
                    part=part,
                    sequence_number=self._next(),
                ),
            ),
            cast(
                TResponseStreamEvent,
                ResponseOutputItemDoneEvent(
                    type="response.output_item.done",
                    item=_output_item(MessageStep(text), item_id=item_id),
                    output_index=0,
                    sequence_number=self._next(),
                ),
            ),
        ]

    def content_part_added(self, item_id: str) -> TResponseStreamEvent:
        return cast(
            TResponseStreamEvent,
            ResponseContentPartAddedEvent(
                type="response.content_part.added",
                item_id=item_id,
                output_index=0,
                content_index=0,
                part=ResponseOutputText(type="output_text", text="", annotations=[], logprobs=[]),
                sequence_number=self._next(),
            ),
        )

    def function_call(self, call: ResponseFunctionToolCall) -> list[TResponseStreamEvent]:
        item_id = call.id or call.call_id
        return [
            cast(
                TResponseStreamEvent,
                ResponseOutputItemAddedEvent(
                    type="response.output_item.added",
                    item=call.model_copy(update={"arguments": "", "status": "in_progress"}),
                    output_index=0,
                    sequence_number=self._next(),
                ),
            ),
            ResponseFunctionCallArgumentsDeltaEvent(
                type="response.function_call_arguments.delta",
                item_id=item_id,
                output_index=0,
                delta=call.arguments,
                sequence_number=self._next(),
            ),
            ResponseFunctionCallArgumentsDoneEvent.model_validate(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item_id,
                    "output_index": 0,
                    "arguments": call.arguments,
                    "name": call.name,
                    "sequence_number": self._next(),
                }
            ),
            cast(
                TResponseStreamEvent,
                ResponseOutputItemDoneEvent(
                    type="response.output_item.done",
                    item=call,
                    output_index=0,
                    sequence_number=self._next(),
                ),
            ),
        ]

    def completed(self, item: Any, usage: ResponseUsage) -> TResponseStreamEvent:
        return ResponseCompletedEvent(
            type="response.completed",
            response=self._response([item], usage, "completed"),
            sequence_number=self._next(),
        )


def _output_item(step: Step, *, item_id: str | None = None) -> Any:
    if isinstance(step, MessageStep):
        return ResponseOutputMessage(
            id=item_id or new_id("msg"),
            type="message",
            role="assistant",
            status="completed",
            content=[
                ResponseOutputText(type="output_text", text=step.text, annotations=[], logprobs=[])
            ],
        )
    call_id = new_id("call")
    return ResponseFunctionToolCall(
        id=new_id("fc"),
        call_id=call_id,
        type="function_call",
        name=step.name,
        arguments=step.arguments,
        status="completed",
    )


def _valid(arguments: dict[str, Any], schema: Mapping[str, Any]) -> bool:
    try:
        jsonschema.validate(arguments, dict(schema))
    except jsonschema.ValidationError:
        return False
    return True


def _is_user_message(item: Mapping[str, Any]) -> bool:
    return item.get("role") == "user" and item.get("type", "message") == "message"


def _mapping(item: Any) -> Mapping[str, Any]:
    if isinstance(item, Mapping):
        return item
    dump = getattr(item, "model_dump", None)
    return cast(Mapping[str, Any], dump(exclude_unset=True)) if callable(dump) else {}


__all__ = ["MODEL_NAME", "BuiltinModel", "arithmetic_expression"]
