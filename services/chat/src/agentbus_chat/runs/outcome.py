"""A run as accepted, how it ended, the frame and the error that say so, and its usage event."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from agentbus_chat.agents.guardrails import Screening
from agentbus_chat.conversations.repository import Owner
from agentbus_chat.errors import InputRejected, ModelFailed, ShuttingDown
from agentbus_chat.llm.backends import UsageLedger
from agentbus_shared.contracts.chat import MessageStatus, RunEnd, Usage, UsageRecorded
from agentbus_shared.contracts.common import Principal
from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.contracts.features import FEATURES_WHEN_UNKNOWN, FeatureSet
from agentbus_shared.errors import AgentbusError, GatewayTimeout, TenantSuspended

REPLY_STATUS: dict[RunEnd, MessageStatus] = {
    "completed": "complete",
    "cancelled": "partial",
    "interrupted": "partial",
    "failed": "error",
}
"""The status of the reply a run saves, by how the run ended."""

STOPPED: dict[str, tuple[RunEnd, str]] = {
    "cancelled": ("cancelled", "cancelled"),
    "shutdown": ("interrupted", "shutdown"),
    "tenant_suspended": ("cancelled", "tenant_suspended"),
}
"""How a run stopped from outside ended, and its error code, by why it was stopped."""


@dataclass(frozen=True)
class AcceptedRun:
    """A run accepted and recorded: whose, in which conversation, starting with which agent."""

    run_id: str
    principal: Principal
    conversation_id: str
    agent: str
    message: str
    user_message_id: str
    stream_id: str | None = None
    features: FeatureSet = FEATURES_WHEN_UNKNOWN
    """The tenant's features that accepted the run; its agents hand off within them."""

    @property
    def owner(self) -> Owner:
        return Owner.of(self.principal)

    def usage_event(self, outcome: Outcome, ledger: UsageLedger) -> CloudEvent[UsageRecorded]:
        """What the run used; its id is the run id (publishing it twice is harmless)."""
        return make_event(
            UsageRecorded(
                run_id=self.run_id,
                tenant_id=self.principal.tenant_id,
                user_id=self.principal.subject,
                conversation_id=self.conversation_id,
                model=ledger.model or "unknown",
                agent=outcome.agent,
                input_tokens=ledger.input_tokens,
                output_tokens=ledger.output_tokens,
                messages=1,
                recorded_at=datetime.now(UTC),
            ),
            tenant_id=self.principal.tenant_id,
            subject=self.conversation_id,
            event_id=self.run_id,
        )


@dataclass
class Outcome:
    status: RunEnd
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
    "tenant_suspended": "This team was suspended by the platform's operators; the run was "
    "stopped and its partial reply saved.",
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
    if code == "tenant_suspended":
        return TenantSuspended(message)
    if code == "timeout":
        return GatewayTimeout(message, code="run_timeout")
    if outcome.status in ("cancelled", "interrupted"):
        return ShuttingDown(message, retry_after=1)
    return ModelFailed(message, code=code)
