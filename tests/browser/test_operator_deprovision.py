"""Deprovisioning a team in Chromium against the running system: an operator opens a team's page,
presses "Deprovision tenant", finds the confirmation refused until the team's name is typed out,
confirms, and follows each service's part on the page until the tenant is deleted. The dialog
and the progress pass axe-core at 375 and 1280 px without a sideways scroll."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from agentbus_shared.testing.stack import Stack

from .browser_support import (
    PASSWORD,
    WIDTHS,
    Stages,
    accessibility_findings,
    findings_at_every_width,
    open_the_team_as_operator,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OPERATOR = "olive.operator@example.com"
OWNER = "quinn.owner@example.com"
TEAM = "Quarry Works"


def test_an_operator_deprovisions_a_team_after_typing_its_name_and_follows_the_progress(
    page: Page, stack: Stack, stages: Stages
) -> None:
    with stack.client() as client:
        owner = {"email": OWNER, "password": PASSWORD, "tenant_name": TEAM}
        assert client.post("/api/v1/auth/register", json=owner).status_code == 201
    open_the_team_as_operator(page, stack, OPERATOR, OWNER, TEAM)

    page.get_by_role("button", name="Deprovision tenant").click()
    dialog = page.get_by_role("dialog", name=f"Deprovision {TEAM}?")
    confirm = dialog.get_by_role("button", name="Deprovision and delete all data")
    expect(confirm).to_be_disabled()
    name = dialog.get_by_label(f"Type the team's name, {TEAM}, to confirm")
    name.fill("Quarry")
    expect(confirm).to_be_disabled()
    name.fill(TEAM)
    expect(confirm).to_be_enabled()
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found[f"deprovision-dialog@{width}"] = accessibility_findings(page)
    stages.done("deprovision-dialog")
    confirm.click()

    expect(page.get_by_text(f"{TEAM} is being deprovisioned", exact=True)).to_be_visible()
    progress = page.get_by_role("region", name="Deprovisioning")
    expect(progress.get_by_role("list", name="Each service's part")).to_be_visible()
    expect(progress.get_by_role("status")).to_contain_text(
        re.compile("every service has deleted its data"), timeout=60_000
    )
    found |= {
        f"progress@{w}": v
        for w, v in findings_at_every_width(
            page, lambda: expect(progress).to_contain_text("Deleted")
        ).items()
    }
    expect(page.get_by_role("region", name="Status")).to_contain_text("Deleted")
    stages.done("tenant-deleted")
    assert {where: v for where, v in found.items() if v} == {}
