"""Billing and team pages in Chromium against the running system, beyond what the journey
(``test_web_app_in_a_browser.py``) shows: a new team on the free plan sees the plan and its
meters; a teammate invited joins, is made a viewer (who then sees why the team's, the plan's and
the service accounts' actions are not theirs) and is removed after a confirmation. Both pages
and the invite dialog pass axe-core at 375 and 1280 px without a sideways scroll, the team page
also with two members (the journey checks billing with an invoice). Screenshots of each stage
are kept in ``test-output/browser/<test>/``."""

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
    invite_a_teammate,
    join_by_invite,
    log_in,
    open_billing,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

TEAMMATE = "grace.browser@example.com"


def see_the_free_plan_and_its_meters(page: Page, stages: Stages) -> None:
    open_billing(page)
    expect(page.get_by_test_id("current-plan")).to_have_text("Free")
    meters = page.get_by_role("list", name="Usage this period")
    expect(meters.get_by_role("progressbar", name="Messages")).to_have_attribute(
        "aria-valuetext", "0 of 100 messages used (0%)"
    )
    expect(meters.get_by_role("progressbar", name="Tokens")).to_be_visible()
    expect(page.get_by_text("No invoices yet.")).to_be_visible()
    expect(page.get_by_text(re.compile("^Live:"))).to_be_visible()
    stages.done("billing-on-the-free-plan")


def make_the_teammate_a_viewer(page: Page, stages: Stages) -> None:
    page.reload()
    members = page.get_by_role("table", name="Members")
    expect(members).to_contain_text(TEAMMATE)
    members.get_by_label(f"Role of {TEAMMATE}").select_option("viewer")
    members.get_by_role("button", name=f"Change role of {TEAMMATE}").click()
    expect(page.get_by_text(f"{TEAMMATE} is now Viewer", exact=True)).to_be_visible()
    expect(members.get_by_label(f"Role of {TEAMMATE}")).to_have_value("viewer")
    stages.done("teammate-made-viewer")


def a_viewer_sees_why_they_cannot_manage(
    browser: Browser, stack: Stack, stages: Stages, errors: BrowserErrors
) -> None:
    """The teammate, now a viewer, logs in again (the role change ended their session): the
    team's, the plan's and the service accounts' actions are not theirs, and the pages say
    why."""
    theirs = browser.new_context()
    errors.watch(theirs)
    try:
        page = theirs.new_page()
        page.goto(stack.gateway_url + "/team")
        log_in(page, TEAMMATE)
        expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
        expect(page.get_by_text("Only the team's owners and admins invite")).to_be_visible()
        expect(page.get_by_role("button", name="Invite a teammate")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)
        page.screenshot(path=stages.folder / "team-as-a-viewer.png", full_page=True)
        page.goto(stack.gateway_url + "/billing")
        expect(page.get_by_text("Only the team's owners and admins can change")).to_be_visible()
        expect(page.get_by_role("button", name="Upgrade to Pro")).to_be_disabled()
        page.screenshot(path=stages.folder / "billing-as-a-viewer.png", full_page=True)
        page.goto(stack.gateway_url + "/account")
        expect(
            page.get_by_text("Only the team's owners and admins create and revoke")
        ).to_be_visible()
        expect(page.get_by_role("button", name="Create service account")).to_have_count(0)
    finally:
        theirs.close()


def remove_the_teammate(page: Page, stages: Stages) -> None:
    members = page.get_by_role("table", name="Members")
    members.get_by_role("button", name=f"Remove {TEAMMATE}").click()
    confirm = page.get_by_role("alertdialog", name=f"Remove {TEAMMATE}?")
    stages.done("remove-confirmation")
    confirm.get_by_role("button", name="Remove").click()
    expect(members).not_to_contain_text(TEAMMATE)
    stages.done("teammate-removed")


def axe_on_a_team_of_two(page: Page, stack: Stack, stages: Stages) -> dict[str, list[str]]:
    """The team page with a teammate's row (their role select and remove button)."""
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(stack.gateway_url + "/team")
        expect(page.get_by_role("table", name="Members")).to_contain_text(TEAMMATE)
        found[f"team@{width}"] = accessibility_findings(page)
        stages.done(f"team-of-two-{width}")
    return {where: v for where, v in found.items() if v}


def test_a_new_team_sees_its_plan_and_manages_a_teammate(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    email = "ada.billing@example.com"
    sign_up(page, stack, email)
    verify_email(page, stack, email)
    see_the_free_plan_and_its_meters(page, stages)

    invite_a_teammate(page, stages, TEAMMATE)
    join_by_invite(browser, stack, browser_errors, TEAMMATE, "Grace")
    assert axe_on_a_team_of_two(page, stack, stages) == {}
    make_the_teammate_a_viewer(page, stages)
    a_viewer_sees_why_they_cannot_manage(browser, stack, stages, browser_errors)
    remove_the_teammate(page, stages)


@pytest.mark.parametrize("width", WIDTHS)
def test_billing_and_team_of_a_new_team_pass_axe(
    page: Page, stack: Stack, stages: Stages, width: int
) -> None:
    """The empty states (no invoices, one member) and the invite dialog, at a phone's and a
    desktop's width."""
    page.set_viewport_size({"width": width, "height": 900})
    sign_up(page, stack, f"axe-billing-{width}@example.com")
    found: dict[str, list[str]] = {}
    page.goto(stack.gateway_url + "/billing")
    expect(page.get_by_text("No invoices yet.")).to_be_visible()
    found["billing"] = accessibility_findings(page)
    stages.done(f"billing-free-{width}")
    page.goto(stack.gateway_url + "/team")
    expect(page.get_by_role("table", name="Members")).to_be_visible()
    found["team"] = accessibility_findings(page)
    page.get_by_role("button", name="Invite a teammate").click()
    expect(page.get_by_role("dialog", name="Invite a teammate")).to_be_visible()
    found["invite-dialog"] = accessibility_findings(page)
    stages.done(f"invite-dialog-{width}")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Invite a teammate")).to_be_focused()
    assert {where: v for where, v in found.items() if v} == {}
