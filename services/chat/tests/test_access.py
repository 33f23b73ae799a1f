"""Who may call each chat operation: what it checks is what its route documents."""

from __future__ import annotations

from agentbus_shared.contracts.chat import ROUTES
from agentbus_shared.runtime import ServiceRuntime


async def test_each_operation_declares_the_access_of_its_route(
    chat_service: ServiceRuntime,
) -> None:
    """The scopes and "users only" an operation checks are the ones its route documents."""
    for route in ROUTES:
        declared = chat_service.rpc_router.access[route.operation]
        assert set(declared.scopes) == set(route.scopes), route.operation
        assert declared.user_only == (route.access == "user"), route.operation
        if route.access == "public":
            assert not declared.scopes, route.operation
