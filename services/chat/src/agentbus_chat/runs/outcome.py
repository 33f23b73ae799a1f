"""How a run ended, the frame that says so, and the errors a run can answer with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agentbus_chat.agents.guardrails import Screening
from agentbus_shared.contracts.chat import Usage
from agentbus_shared.errors import (
    AgentbusError,
    Conflict,
    GatewayTimeout,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
)

Status = Literal["completed", "cancelled", "failed", "interrupted"]


class UnknownAgent(ValidationFailed):
    code = "unknown_agent"
    default_message = "There is no agent of that name."


class InputRejected(ValidationFailed):
    code = "input_rejected"


class ModelFailed(AgentbusError):
    code = "model_failed"
    status = 502
    title = "Bad gateway"
    default_message = "The model could not produce a reply."


class StreamExists(Conflict):
    code = "stream_exists"
    default_message = "A run with this stream id already exists."


class StreamNotFound(NotFound):
    code = "stream_not_found"
    default_message = "There is no stream with this id."


class ShuttingDown(ServiceUnavailable):
    code = "shutting_down"
    default_message = "This chat replica is shutting down; try again."


@dataclass
class Outcome:
    status: Status
    agent: str
    output: str
    usage: Usage
    error_code: str | None = None
    error_message: str | None = None
    blocked: Screening | None = field(default=None, repr=False)

    def terminal_frame(self) -> tuple[Literal["final", "error"], dict[str, Any]]:
        if self.status == "completed":
            return "final", {
                "output": self.output,
                "agent": self.agent,
                "usage": self.usage.model_dump(),
            }
        return "error", {
            "code": self.error_code or "run_failed",
            "message": self.error_message or "",
        }


MESSAGES = {
    "cancelled": "The run was cancelled; the partial reply was saved.",
    "shutdown": "The chat service restarted during the run; the partial reply was saved.",
    "timeout": "The run took too long and was stopped.",
    "max_turns": "The agents needed too many steps to answer.",
    "model_error": "The model made an invalid request (for example, a tool it may not use).",
    "model_unavailable": "The model provider could not be reached or refused the request.",
    "run_failed": "The reply could not be completed.",
}


def error_for(outcome: Outcome) -> AgentbusError:
    code = outcome.error_code or "run_failed"
    message = outcome.error_message or MESSAGES.get(code, "")
    if outcome.blocked is not None:
        return InputRejected(message, code=code)
    if code == "timeout":
        return GatewayTimeout(message, code="run_timeout")
    if outcome.status in ("cancelled", "interrupted"):
        return ShuttingDown(message, retry_after=1)
    return ModelFailed(message, code=code)
