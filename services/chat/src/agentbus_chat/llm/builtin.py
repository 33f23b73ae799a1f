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
from typing import Any, cast

import jsonschema
from agents import Handoff, ModelResponse, ModelSettings, Tool, Usage
from agents.agent_output import AgentOutputSchemaBase
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from openai.types.responses import ResponseFunctionToolCall, ResponseUsage
from openai.types.responses.response_prompt_param import ResponsePromptParam
from openai.types.responses.response_usage import InputTokensDetails, OutputTokensDetails

from agentbus_chat.agents.catalog import AgentSpec
from agentbus_chat.llm.reading import (
    MessageStep,
    Step,
    ToolCallStep,
    Turn,
    answer,
    arithmetic_expression,
    tool_arguments,
)
from agentbus_chat.llm.response_events import MODEL_NAME, ResponseEvents, output_item
from agentbus_chat.llm.tokens import count_tokens, item_text, words
from agentbus_shared.ids import new_id


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
            output=[output_item(step)],
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
        stream = ResponseEvents(new_id("resp"))
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
            item = output_item(step, item_id=message_id)
        else:
            item = output_item(step)
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
            arguments = tool_arguments(name, turn.user_text)
            if arguments is not None and _valid(arguments, getattr(tool, "params_json_schema", {})):
                return ToolCallStep(name, json.dumps(arguments))
        return MessageStep(answer(agent.name if agent else "assistant", turn))

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


def _valid(arguments: dict[str, Any], schema: Mapping[str, Any]) -> bool:
    try:
        jsonschema.validate(arguments, dict(schema))
    except jsonschema.ValidationError:
        return False
    return True


__all__ = ["MODEL_NAME", "BuiltinModel", "arithmetic_expression"]
