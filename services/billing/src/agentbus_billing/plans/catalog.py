"""Loads the plan catalog (``catalog.toml``, or ``BILLING_PLANS_FILE``) into typed plans."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentbus_shared.contracts.billing import Meter, PlanLimits, PlanView
from agentbus_shared.contracts.features import Feature
from agentbus_shared.errors import NotFound


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str
    price_cents: int = Field(ge=0)
    currency: str = "usd"
    interval: Literal["month", "year"] = "month"
    lookup_key: str | None = None
    features: tuple[str, ...] = ()
    limits: PlanLimits = PlanLimits()

    @property
    def is_paid(self) -> bool:
        return self.price_cents > 0

    def view(self) -> PlanView:
        return PlanView(
            code=self.code,
            name=self.name,
            price_cents=self.price_cents,
            currency=self.currency,
            interval=self.interval,
            limits=self.limits,
            features=list(self.features),
        )


class MeterSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    meter: Meter
    event_name: str = Field(pattern=r"^[a-z0-9_]+$")
    display_name: str


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_plan: str
    plans: list[Plan]
    meters: list[MeterSpec] = []

    @model_validator(mode="after")
    def _consistent(self) -> _CatalogFile:
        codes = [p.code for p in self.plans]
        if len(set(codes)) != len(codes):
            raise ValueError("plan codes must be unique")
        if self.default_plan not in codes:
            raise ValueError(f"default_plan {self.default_plan!r} is not in the catalog")
        if any(p.is_paid and not p.lookup_key for p in self.plans):
            raise ValueError("every paid plan needs a lookup_key for its Stripe price")
        unknown = {f for p in self.plans for f in p.features} - {f.value for f in Feature}
        if unknown:
            raise ValueError(f"features {sorted(unknown)} are not in the Feature registry")
        return self


@dataclass(frozen=True)
class Catalog:
    """The plans in display order, the plan every tenant starts on, and the usage meters."""

    plans: tuple[Plan, ...]
    default_code: str
    meters: tuple[MeterSpec, ...]

    @property
    def default(self) -> Plan:
        return self.get(self.default_code)

    def get(self, code: str) -> Plan:
        for plan in self.plans:
            if plan.code == code:
                return plan
        raise NotFound(f"There is no plan {code!r}.", code="plan_not_found")

    def find(self, code: str) -> Plan | None:
        return next((p for p in self.plans if p.code == code), None)

    def by_lookup_key(self, lookup_key: str) -> Plan | None:
        return next((p for p in self.plans if p.lookup_key == lookup_key), None)

    def meter(self, meter: str) -> MeterSpec | None:
        return next((m for m in self.meters if m.meter == meter), None)


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog from ``path``, or the built-in one. Raises ``ValueError`` when it is invalid."""
    raw: dict[str, Any]
    if path is None:
        text = resources.files("agentbus_billing.plans").joinpath("catalog.toml").read_text()
        raw = tomllib.loads(text)
    else:
        raw = tomllib.loads(path.read_text())
    parsed = _CatalogFile.model_validate(raw)
    return Catalog(tuple(parsed.plans), parsed.default_plan, tuple(parsed.meters))
