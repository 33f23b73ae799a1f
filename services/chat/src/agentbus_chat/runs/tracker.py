"""SDK stream events → API frames, and what the run produced so far (for persisting it).

``agent`` when the active agent changes, ``delta`` per text delta,
``tool_call`` / ``tool_result`` per function tool, ``handoff`` per handoff.
Handoff calls themselves are not tool calls to the client and produce no
``tool_call`` frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agents import (
    AgentUpdatedStreamEvent,
    HandoffOutputItem,
    RawResponsesStreamEvent,
    RunItemStreamEvent,
    StreamEvent,
    ToolCallItem,
    ToolCallOutputItem,
)

from agentbus_chat.agents.tools import tool_arguments
from agentbus_chat.metrics import FIRST_DELTA_SECONDS
from agentbus_chat.runs.frames import FrameSink


@dataclass(frozen=True)
class ToolExchange:
    call_id: str
    name: str
    agent: str
    output: str


@dataclass
class RunTracker:
    """Follows one run's stream: emits frames and remembers the reply and tool results."""

    sink: FrameSink
    agent: str
    started: float = field(default_factory=time.monotonic)
    text: list[str] = field(default_factory=list)
    tools: list[ToolExchange] = field(default_factory=list)
    _names: dict[str, str] = field(default_factory=dict)
    _announced: str | None = None

    @property
    def reply(self) -> str:
        """All text streamed so far: what the client has seen of the reply."""
        return "".join(self.text)

    async def announce(self, agent: str) -> None:
        if agent != self._announced:
            self._announced = agent
            self.agent = agent
            await self.sink.emit("agent", {"name": agent})

    async def on_event(self, event: StreamEvent) -> None:
        if isinstance(event, RawResponsesStreamEvent):
            if event.data.type == "response.output_text.delta":
                delta = str(getattr(event.data, "delta", ""))
                if delta:
                    if not self.text:
                        FIRST_DELTA_SECONDS.observe(time.monotonic() - self.started)
                    self.text.append(delta)
                    await self.sink.emit("delta", {"text": delta})
        elif isinstance(event, AgentUpdatedStreamEvent):
            await self.announce(event.new_agent.name)
        elif isinstance(event, RunItemStreamEvent):
            await self._on_item(event)

    async def _on_item(self, event: RunItemStreamEvent) -> None:
        item = event.item
        if event.name == "tool_called" and isinstance(item, ToolCallItem):
            raw = _fields(item.raw_item)
            call_id, name = str(raw.get("call_id", "")), str(raw.get("name", ""))
            self._names[call_id] = name
            await self.sink.emit(
                "tool_call",
                {
                    "call_id": call_id,
                    "name": name,
                    "arguments": tool_arguments(str(raw.get("arguments", ""))),
                },
            )
        elif event.name == "tool_output" and isinstance(item, ToolCallOutputItem):
            call_id = str(_fields(item.raw_item).get("call_id", ""))
            output = item.output if isinstance(item.output, str) else str(item.output)
            self.tools.append(
                ToolExchange(call_id, self._names.get(call_id, ""), self.agent, output)
            )
            await self.sink.emit("tool_result", {"call_id": call_id, "output": output})
        elif event.name == "handoff_occured" and isinstance(item, HandoffOutputItem):
            await self.sink.emit(
                "handoff", {"from": item.source_agent.name, "to": item.target_agent.name}
            )


def _fields(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    dump = getattr(raw, "model_dump", None)
    return dump() if callable(dump) else {}
