"""What a run knows about its caller: handed to tools and guardrails through the SDK run context."""

from __future__ import annotations

from dataclasses import dataclass

from agentbus_shared.contracts.common import Principal


@dataclass(frozen=True)
class ChatContext:
    """The run context of one chat run (``Runner.run(..., context=ChatContext(...))``).

    Tools read the tenant and the user from here, never from globals, so one
    process serves many tenants at once without mixing them.
    """

    principal: Principal
    conversation_id: str
    run_id: str

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    @property
    def user_id(self) -> str:
        return self.principal.subject
