"""Tenant slugs: the unique short name of a tenant, made from its name when it is created."""

from __future__ import annotations

import re

STEM_LENGTH = 30
"""How much of a name a new tenant's slug keeps, leaving room for the suffix that makes it unique."""

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug_stem(name: str) -> str:
    """``name`` in lowercase letters, digits and hyphens: at least 3 characters, at most 30."""
    stem = _NOT_SLUG.sub("-", name.lower()).strip("-")[:STEM_LENGTH].strip("-")
    return stem if len(stem) >= 3 else "-".join(part for part in (stem, "team") if part)


def new_tenant_slug(name: str, tenant_id: str) -> str:
    """A new tenant's slug: its name's stem and the end of its id, so no two tenants collide
    however many share a name; its admins may choose a shorter one later."""
    suffix = re.sub(r"[^a-z0-9]", "", tenant_id.lower())[-6:]
    return f"{slug_stem(name)}-{suffix}"
