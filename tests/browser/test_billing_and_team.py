"""Billing and team pages in Chromium against the running system: a person on the free plan sees
the plan and its meters, upgrades through Stripe Checkout paying with the stand-in's test card
and sees the new plan arrive live in another tab that never reloads; invites a teammate who
joins, makes the teammate a viewer (who then sees why the team's and the plan's actions are not
theirs) and removes them; logging out ends the billing stream. Both
pages and the invite dialog pass axe-core at 375 and 1280 px.
Screenshots of each stage are kept in ``test-output/browser/<test>/``."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from prometheus_client.parser import text_string_to_metric_families

from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import eventually_blocking

from .browser_support import BrowserErrors
from .test_web_app_in_a_browser import (
    PASSWORD,
    WIDTHS,
    Stages,
    log_in,
    serious_violations,
    sign_up,
    stages,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

__all__ = ["stages"]

TEAMMATE = "grace.browser@example.com"


def verify_email(page: Page, stack: Stack, email: str) -> None:
    page.get_by_label("Code").fill(stack.mailed_code(email, "verify_email"))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


def open_billing(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()


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


def watch_billing_in_another_tab(context: BrowserContext, stack: Stack) -> Page:
    """A second tab on the billing page, marked so that a reload would show (the mark would go)."""
    watcher = context.new_page()
    watcher.goto(stack.gateway_url + "/billing")
    expect(watcher.get_by_test_id("current-plan")).to_have_text("Free")
    expect(watcher.get_by_text(re.compile("^Live:"))).to_be_visible()
    watcher.evaluate("window.neverReloaded = true")
    return watcher


def upgrade_through_checkout(page: Page, stack: Stack, stages: Stages) -> None:
    page.get_by_role("button", name="Upgrade to Starter").click()
    expect(page.get_by_role("heading", name=re.compile("Subscribe: 19.00 USD"))).to_be_visible()
    stages.done("stripe-checkout")
    page.get_by_role("button", name="Pay with test card 4242").click()
    expect(page).to_have_url(f"{stack.gateway_url}/billing?checkout=success")
    expect(page.get_by_role("status").filter(has_text="Payment received")).to_contain_text(
        "Your team is on Starter now.", timeout=30_000
    )
    expect(page.get_by_test_id("current-plan")).to_have_text("Starter")
    expect(page.get_by_role("table", name="Invoices")).to_contain_text("Paid", timeout=30_000)
    stages.done("back-from-checkout-on-starter")


def see_the_plan_arrive_live(watcher: Page, stages: Stages) -> None:
    expect(watcher.get_by_test_id("current-plan")).to_have_text("Starter", timeout=30_000)
    expect(
        watcher.get_by_role("list", name="Usage this period").get_by_role(
            "progressbar", name="Messages"
        )
    ).to_have_attribute("aria-valuetext", "0 of 2,000 messages used (0%)")
    assert watcher.evaluate("window.neverReloaded") is True
    watcher.screenshot(path=stages.folder / "starter-arrived-live-in-the-other-tab.png")
    watcher.close()


def invite_a_teammate(page: Page, stages: Stages) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    page.get_by_role("button", name="Invite a teammate").click()
    dialog = page.get_by_role("dialog", name="Invite a teammate")
    dialog.get_by_label("Email").fill(TEAMMATE)
    dialog.get_by_label("Role").select_option("admin")
    stages.done("invite-dialog")
    dialog.get_by_role("button", name="Send invite").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"Invite sent to {TEAMMATE}", exact=True)).to_be_visible()


def teammate_joins(browser: Browser, stack: Stack, errors: BrowserErrors) -> None:
    """The teammate opens the mailed link in their own browser and joins with a password."""
    theirs = browser.new_context()
    errors.watch(theirs)
    try:
        page = theirs.new_page()
        page.goto(f"{stack.gateway_url}/invite?token={stack.mailed_invite(TEAMMATE)}")
        page.get_by_label("Your name").fill("Grace")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_role("heading", name="Welcome, Grace")).to_be_visible()
    finally:
        theirs.close()


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


def axe_on_billing_and_team(page: Page, stack: Stack, stages: Stages) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in ("/billing", "/team"):
            page.goto(stack.gateway_url + path)
            expect(page.get_by_role("table").first).to_be_visible()
            found[f"{path}@{width}"] = serious_violations(page)
            stages.done(f"{path.strip('/')}-{width}")
    return {where: v for where, v in found.items() if v}


def open_billing_streams(stack: Stack) -> int:
    """Billing streams the gateway holds open now (its ``agentbus_gateway_open_streams`` gauge)."""
    text = httpx.get(stack.gateway_metrics_url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "agentbus_gateway_open_streams"
                and sample.labels["kind"] == "billing"
            ):
                return int(sample.value)
    return 0


def logging_out_ends_the_stream(page: Page, stack: Stack, stages: Stages) -> None:
    page.goto(stack.gateway_url + "/billing")
    expect(page.get_by_text(re.compile("^Live:"))).to_be_visible()
    open_now = eventually_blocking(lambda: open_billing_streams(stack), what="a billing stream")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    eventually_blocking(
        lambda: open_billing_streams(stack) < open_now, what="the billing stream ended"
    )
    stages.done("logged-out-stream-ended")


def test_a_person_upgrades_through_checkout_live_and_manages_the_team(
    page: Page,
    context: BrowserContext,
    browser: Browser,
    stack: Stack,
    stages: Stages,
    browser_errors: BrowserErrors,
) -> None:
    email = "ada.billing@example.com"
    sign_up(page, stack, email)
    verify_email(page, stack, email)
    see_the_free_plan_and_its_meters(page, stages)

    watcher = watch_billing_in_another_tab(context, stack)
    upgrade_through_checkout(page, stack, stages)
    see_the_plan_arrive_live(watcher, stages)

    invite_a_teammate(page, stages)
    teammate_joins(browser, stack, browser_errors)
    make_the_teammate_a_viewer(page, stages)
    a_viewer_sees_why_they_cannot_manage(browser, stack, stages, browser_errors)
    remove_the_teammate(page, stages)

    assert axe_on_billing_and_team(page, stack, stages) == {}
    logging_out_ends_the_stream(page, stack, stages)


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
    found["billing"] = serious_violations(page)
    stages.done(f"billing-free-{width}")
    page.goto(stack.gateway_url + "/team")
    expect(page.get_by_role("table", name="Members")).to_be_visible()
    found["team"] = serious_violations(page)
    page.get_by_role("button", name="Invite a teammate").click()
    expect(page.get_by_role("dialog", name="Invite a teammate")).to_be_visible()
    found["invite-dialog"] = serious_violations(page)
    stages.done(f"invite-dialog-{width}")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="Invite a teammate")).to_be_focused()
    assert {where: v for where, v in found.items() if v} == {}
