"""The RPC side of the auth routes: every operation answers, with the shapes the gateway forwards."""

from __future__ import annotations

import re

from auth_support import AuthClient

from agentbus_shared.contracts import AUTH_MODULES
from agentbus_shared.contracts import AUTH_ROUTES as ROUTES
from agentbus_shared.contracts.auth import Operation
from agentbus_shared.contracts.common import Scope


def operations() -> set[str]:
    """Every operation the auth service's contract modules declare."""
    return {
        value
        for module in AUTH_MODULES
        for name, value in vars(module.Operation).items()
        if name.isupper()
    }


async def test_every_declared_operation_is_served(client: AuthClient) -> None:
    assert operations() <= set(client.runtime.rpc_router.operations)
    assert {route.operation for route in ROUTES} <= operations()


async def test_path_parameters_reach_the_operation_by_name(client: AuthClient) -> None:
    """The gateway merges path parameters into the command under their names."""
    owner = await client.register()
    operator = await client.register_verified()
    await client.parts.operators.grant(operator.email, actor="test")
    operates = (await client.login(operator.email, client.password)).data["access_token"]
    expected = {
        "session_id": ("sessions.revoke", "session_not_found"),
        "service_account_id": ("service_accounts.revoke", "service_account_not_found"),
        "user_id": ("tenants.members.remove", "member_not_found"),
        "signup_request_id": ("signup.requests.approve", "signup_request_not_found"),
        "signup_invite_id": ("signup.invites.revoke", "signup_invite_not_found"),
        "invite_id": ("tenants.invites.revoke", "invite_not_found"),
        "identity_id": ("sso.identities.unlink", "sso_identity_not_found"),
        "tenant_id": ("platform.tenants.get", "tenant_not_found"),
    }
    for route in ROUTES:
        for name in re.findall(r"{(\w+)}", route.path):
            operation, not_found = expected[name]
            if route.operation != operation:
                continue
            token = operates if Scope.PLATFORM_OPERATE in route.scopes else owner.access_token
            error = await client.error(operation, {name: "x_unknown"}, token=token)
            assert (error.status, error.code) == (404, not_found)


async def test_public_operations_need_no_caller_and_private_ones_do(client: AuthClient) -> None:
    for route in ROUTES:
        if route.access == "public" or route.operation == Operation.JWKS:
            continue
        error = await client.error(route.operation, {})
        assert error.status in {401, 422}, route.operation


async def test_unknown_fields_are_refused(client: AuthClient) -> None:
    error = await client.error(
        "login", {"email": "a@example.com", "password": "x" * 12, "admin": True}
    )
    assert (error.status, error.code) == (422, "validation_failed")
    assert error.details[0]["loc"] == ["admin"]


async def test_errors_never_leak_internals(client: AuthClient) -> None:
    error = await client.error("refresh", {"refresh_token": "rt_" + "x" * 40})
    assert "Traceback" not in error.message
    assert "sqlalchemy" not in error.message.lower()
