"""The Responses API stream events of one builtin-model response, in the order the SDK expects.

``response.created``, then per output item ``output_item.added`` … ``output_item.done``
(text deltas or function-call arguments in between), then ``response.completed``
carrying the output items and the usage.
"""

from __future__ import annotations

from typing import Any, cast

from agents.items import TResponseStreamEvent
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

from agentbus_chat.llm.reading import MessageStep, Step
from agentbus_shared.ids import new_id

MODEL_NAME = "builtin"


class ResponseEvents:
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
                    item=output_item(MessageStep(text), item_id=item_id),
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


def output_item(step: Step, *, item_id: str | None = None) -> Any:
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
