"""Operators' tenant screens in Chromium against the running system: an operator (``agentbus
auth operators grant``) finds a member's team by the member's email, opens its page, suspends it
with a reason; the member, on their next request, sees that their team is suspended instead of
the app; the operator reactivates it and the member, checking again, is back. The tenants list,
the tenant's page, the suspend dialog and the member's suspended page pass axe-core at 375 and
1280 px without a sideways scroll; the screens are in the navigation of operators only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from agentbus_shared.testing.stack import Stack

from .browser_support import (
    WIDTHS,
    BrowserErrors,
    Stages,
    accessibility_findings,
    findings_at_every_width,
    log_in_again,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OPERATOR = "otto.operator@example.com"
MEMBER = "mia.member@example.com"


def the_operator_finds_the_team(page: Page, stack: Stack, stages: Stages) -> dict[str, list[str]]:
    sign_up(page, stack, OPERATOR)
    verify_email(page, stack, OPERATOR)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Tenants")).to_have_count(0)
    stack.agentbus("auth", "operators", "grant", OPERATOR)
    log_in_again(page, stack, OPERATOR)
    nav.get_by_role("link", name="Tenants").click()
    expect(page.get_by_role("heading", name="Tenants", level=1)).to_be_visible()
    page.get_by_label("Name, slug or owner email").fill(MEMBER)
    page.get_by_role("button", name="Search").click()
    tenants = page.get_by_role("table", name="Tenants")
    expect(tenants.get_by_role("row")).to_have_count(2)
    found = {
        f"tenants@{w}": v
        for w, v in findings_at_every_width(
            page, lambda: expect(tenants).to_contain_text(MEMBER)
        ).items()
    }
    stages.done("tenants-found")
    tenants.get_by_role("link", name="Engines").click()
    expect(page.get_by_role("heading", name="Engines", level=1)).to_be_visible()
    status = page.get_by_role("region", name="Status")
    found |= {
        f"tenant@{w}": v
        for w, v in findings_at_every_width(
            page, lambda: expect(status).to_contain_text("Active")
        ).items()
    }
    expect(page.get_by_role("region", name="Plan, members and usage")).to_contain_text(MEMBER)
    stages.done("tenant-page")
    return found


def the_operator_suspends_it(page: Page, stages: Stages) -> dict[str, list[str]]:
    page.get_by_role("button", name="Suspend").click()
    dialog = page.get_by_role("dialog", name="Suspend Engines?")
    dialog.get_by_label("Reason (kept with the tenant and in the audit log)").fill("Chargeback")
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found[f"suspend-dialog@{width}"] = accessibility_findings(page)
    stages.done("suspend-dialog")
    dialog.get_by_role("button", name="Suspend tenant").click()
    expect(page.get_by_text("Engines is suspended", exact=True)).to_be_visible()
    status = page.get_by_role("region", name="Status")
    expect(status).to_contain_text("Suspended")
    expect(status).to_contain_text("Chargeback")
    stages.done("tenant-suspended")
    return {where: v for where, v in found.items() if v}


def test_an_operator_suspends_a_team_its_member_sees_it_and_reactivation_brings_them_back(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    theirs = browser.new_context()
    browser_errors.watch(theirs)
    member = theirs.new_page()
    sign_up(member, stack, MEMBER)
    verify_email(member, stack, MEMBER)

    found = the_operator_finds_the_team(page, stack, stages)
    found |= the_operator_suspends_it(page, stages)

    member.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    suspended = member.get_by_role("heading", name="Your team is suspended", level=1)
    expect(suspended).to_be_visible()
    found |= {
        f"member-suspended@{w}": v
        for w, v in findings_at_every_width(
            member, lambda: expect(suspended).to_be_visible()
        ).items()
    }
    member.screenshot(path=stages.folder / "member-suspended.png", full_page=True)

    page.get_by_role("button", name="Reactivate").click()
    expect(page.get_by_text("Engines is active again", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Status")).to_contain_text("Active")
    member.get_by_role("button", name="Check again").click()
    expect(member.get_by_role("heading", name=re.compile("Team"), level=1)).to_be_visible()
    theirs.close()

    assert found == {}
