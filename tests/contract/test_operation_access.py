"""Who may call each operation is stated twice, and the two statements agree.

The route table (``contracts/*.py``) says who may call a route through the gateway, which the
gateway's guard checks; the operation (``@ops.operation(scopes=..., user_only=...)``) says who
may call it on the bus, which the RPC layer checks. Every routed operation must demand what its
route documents: no more (a route that never works), no less (the bus open wider than the API).
"""

from __future__ import annotations

from agentbus_shared.contracts import ROUTES
from agentbus_shared.testing.checkout import api_docs_generator


def test_each_routed_operation_declares_the_access_of_its_route() -> None:
    runtimes = api_docs_generator().build_runtimes()
    for route in ROUTES:
        declared = runtimes[route.service].rpc_router.access[route.operation]
        where = f"{route.service}.{route.operation} ({route.method} {route.path})"
        assert set(declared.scopes) == set(route.scopes), where
        assert declared.user_only == (route.access == "user"), where
        if route.access == "public":
            assert not declared.needs_caller, where
