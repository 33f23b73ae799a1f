"""Who may call each billing operation: what it checks is what its route documents."""

from __future__ import annotations

from billing_support import RunningBilling

from agentbus_shared.contracts.billing import ROUTES


async def test_each_operation_declares_the_access_of_its_route(billing: RunningBilling) -> None:
    """The scopes and "users only" an operation checks are the ones its route documents."""
    for route in ROUTES:
        declared = billing.runtime.rpc_router.access[route.operation]
        assert set(declared.scopes) == set(route.scopes), route.operation
        assert declared.user_only == (route.access == "user"), route.operation
        if route.access == "public":
            assert not declared.scopes, route.operation
