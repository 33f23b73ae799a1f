"""The chat service's own errors: what a caller is told when a conversation, agent or run says no."""

from __future__ import annotations

from agentbus_shared.errors import (
    AgentbusError,
    Conflict,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)


class ConversationNotFound(NotFound):
    code = "conversation_not_found"
    default_message = "The conversation does not exist."


class ConversationBusy(Conflict):
    code = "conversation_busy"
    default_message = "A reply is still being written in this conversation; try again when it ends."


class AgentNotFound(NotFound):
    code = "agent_not_found"
    default_message = "There is no agent of that name."


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


class TooManyRuns(RateLimited):
    code = "too_many_runs"
    default_message = "Too many runs at once; wait for one to end."


class RunsUnavailable(ServiceUnavailable):
    code = "runs_unavailable"
    default_message = "Runs cannot be started right now; try again shortly."


class BillingUnreachable(ServiceUnavailable):
    code = "billing_unavailable"
    default_message = "Your plan could not be checked right now; try again shortly."
