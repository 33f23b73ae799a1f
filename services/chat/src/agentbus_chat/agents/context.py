"""What a run knows about its caller: handed to tools and guardrails through the SDK run context."""

from __future__ import annotations

from dataclasses import dataclass

from agentbus_shared.contracts.common import Principal
from agentbus_shared.contracts.features import FEATURES_WHEN_UNKNOWN, FeatureSet


@dataclass(frozen=True)
class ChatContext:
    """The run context of one chat run (``Runner.run(..., context=ChatContext(...))``).

    Tools read the tenant and the user from here, never from globals, so one
    process serves many tenants at once without mixing them.
    """

    principal: Principal
    conversation_id: str
    run_id: str
    features: FeatureSet = FEATURES_WHEN_UNKNOWN
    """The tenant's features when the run was accepted: which handoffs the agents are offered."""

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    @property
    def user_id(self) -> str:
        return self.principal.subject
