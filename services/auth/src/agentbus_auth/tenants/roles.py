"""Roles and the scopes they grant; who may change whose role."""

from __future__ import annotations

from agentbus_shared.contracts.common import Role, Scope

_VIEWER = frozenset(
    {Scope.CONVERSATIONS_READ, Scope.MEMBERS_READ, Scope.TENANT_READ, Scope.BILLING_READ}
)
_MEMBER = _VIEWER | {Scope.CONVERSATIONS_WRITE, Scope.CONVERSATIONS_DELETE}
_ADMIN = _MEMBER | {Scope.MEMBERS_MANAGE, Scope.SERVICE_ACCOUNTS_MANAGE, Scope.BILLING_MANAGE}

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: _VIEWER,
    Role.MEMBER: _MEMBER,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _ADMIN,
}
"""Owners and admins hold the same scopes; only an owner may grant, change or remove ``owner``."""

SERVICE_ACCOUNT_FORBIDDEN = frozenset({Scope.PLATFORM_OPERATE})
"""Scopes a service account can never hold, whoever creates it."""


def granted_scopes(role: Role | str, *, platform_operator: bool) -> list[str]:
    """The scopes of a membership; ``platform:operate`` only for a granted platform operator
    (``agentbus auth operators grant``), never for an email address alone."""
    granted = set(ROLE_SCOPES[Role(role)])
    if platform_operator:
        granted.add(Scope.PLATFORM_OPERATE)
    return sorted(str(s) for s in granted)
