"""Feature flags: the one registry of features a plan may include, a tenant's effective features
and operators' overrides (``rpc.billing.v1.features.*``, served by billing, which owns plans).

A tenant's effective features are its plan's features (``catalog.toml``) with the operators'
overrides applied; billing publishes them in ``Entitlements.features`` (the ``ENTITLEMENTS`` KV
bucket and ``entitlements.updated``) and each service enforces its own with
:class:`FeatureSet`. A new capability adds its member to :class:`Feature`, names it in the
plans that include it and checks it where the capability is served (or on its routes with
``Route.feature``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from pydantic import Field

from agentbus_shared.contracts.billing import SERVICE, Entitlements
from agentbus_shared.contracts.common import Contract, Scope
from agentbus_shared.contracts.http import Route, RouteTable
from agentbus_shared.contracts.platform import TenantRef
from agentbus_shared.errors import FeatureNotInPlan


class Feature(StrEnum):
    """Every feature a plan may include; each capability declares its own here."""

    CHAT = "chat"
    TOOLS = "tools"
    PRIORITY_SUPPORT = "priority_support"
    SERVICE_ACCOUNTS = "service_accounts"
    """Create service accounts (programs calling the API with client credentials)."""
    RESEARCH_AGENT = "research_agent"
    """The research agent: picked to start a chat with, or handed a conversation by triage."""


class TenantFeatures(Contract):
    """A tenant's features: its plan's, the operators' overrides and the effective result."""

    tenant_id: str
    plan: str = Field(description="the plan whose features apply")
    plan_features: list[Feature] = Field(description="the features the plan includes")
    overrides: dict[Feature, bool] = Field(
        default_factory=dict,
        description="features an operator turned on (true) or off (false) for this tenant",
    )
    features: list[Feature] = Field(description="effective: the plan's, with the overrides")


class FeatureOverrides(Contract):
    """Body of ``PUT /platform/tenants/{tenant_id}/features``: the whole set of overrides (a
    feature left out follows the plan)."""

    overrides: dict[Feature, bool] = Field(default_factory=dict, max_length=len(Feature))


class FeatureOverridesUpdate(FeatureOverrides, TenantRef):
    """The operators' command: the tenant (from the path) and its whole set of overrides."""


class Operation:
    """RPC operation names of feature flags under ``rpc.billing.v1.``."""

    FEATURES_GET = "features.get"
    TENANT_FEATURES_GET = "features.tenant.get"
    TENANT_FEATURES_SET = "features.tenant.set"


def effective_features(
    plan_features: Collection[str], overrides: dict[Feature, bool]
) -> list[Feature]:
    """The plan's features with ``overrides`` applied, in registry order."""
    return [
        feature for feature in Feature if overrides.get(feature, feature.value in plan_features)
    ]


@dataclass(frozen=True)
class FeatureSet:
    """The features a tenant may use now and the plan they come from, as a service enforces them."""

    plan: str
    features: frozenset[str]

    @classmethod
    def of(cls, entitlements: Entitlements | None) -> FeatureSet:
        """The features of ``entitlements``; :data:`FEATURES_WHEN_UNKNOWN` without any."""
        if entitlements is None:
            return FEATURES_WHEN_UNKNOWN
        return cls(entitlements.plan, frozenset(entitlements.features))

    def includes(self, feature: Feature) -> bool:
        """Whether ``feature`` is among these."""
        return feature.value in self.features

    def require(self, feature: Feature) -> None:
        """Raise ``FeatureNotInPlan`` (403) unless ``feature`` is among these."""
        if not self.includes(feature):
            raise FeatureNotInPlan(
                f"The {self.plan} plan does not include {feature.value}.",
                details={"feature": feature.value, "plan": self.plan},
            )


FEATURES_WHEN_UNKNOWN = FeatureSet("free", frozenset({Feature.CHAT, Feature.SERVICE_ACCOUNTS}))
"""What a tenant may use while billing has published no entitlements for it (a tenant created
a moment ago, or while billing is down since): the shipped default (free) plan's features, the
plan every tenant starts on (docs/adr/platform-feature-flags.md)."""


# ------------------------------------------------------------------ routes
_routes = RouteTable(SERVICE, prefix="/api/v1", tags=("features",))
_operate = (str(Scope.PLATFORM_OPERATE),)

ROUTES: tuple[Route, ...] = (
    _routes.get(
        "/features",
        Operation.FEATURES_GET,
        "The caller's tenant's features",
        scopes=(Scope.TENANT_READ,),
        response=TenantFeatures,
    ),
    _routes.get(
        "/platform/tenants/{tenant_id}/features",
        Operation.TENANT_FEATURES_GET,
        "A tenant's plan features and overrides (operator)",
        access="user",
        scopes=_operate,
        rate_group="operator",
        response=TenantFeatures,
    ),
    _routes.put(
        "/platform/tenants/{tenant_id}/features",
        Operation.TENANT_FEATURES_SET,
        "Override a tenant's features (operator)",
        access="user",
        scopes=_operate,
        rate_group="operator",
        body=FeatureOverrides,
        response=TenantFeatures,
    ),
)

__all__ = ["FEATURES_WHEN_UNKNOWN", "ROUTES", "SERVICE", "Feature", "FeatureSet", "Operation"]
