"""Team administration in Chromium against the running system: an owner renames the team,
changes its settings (a refused webhook and broken flags first, each with its message), revokes
a pending invite after a confirmation, changes a teammate's role and finds all of it — with their
own sign-in — in the audit log, filtered by kind. The team page with its administration sections
and the audit log pass axe-core at 375 and 1280 px without a sideways scroll. Screenshots of each
stage are kept in ``test-output/browser/<test>/``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from agentbus_shared.testing.stack import Stack

from .browser_support import (
    BrowserErrors,
    Stages,
    findings_at_every_width,
    invite_a_teammate,
    join_by_invite,
    log_in_again,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OWNER = "ada.admin@example.com"
TEAMMATE = "lin.admin@example.com"
LATECOMER = "max.admin@example.com"
WEBHOOK = "https://93.184.215.14/hooks/agentbus"


def revoke_the_pending_invite(page: Page, stages: Stages) -> None:
    page.reload()
    invites = page.get_by_role("table", name="Pending invites")
    expect(invites).to_contain_text(LATECOMER)
    invites.get_by_role("button", name=f"Revoke the invite to {LATECOMER}").click()
    confirm = page.get_by_role("alertdialog", name=f"Revoke the invite to {LATECOMER}?")
    stages.done("revoke-confirmation")
    confirm.get_by_role("button", name="Revoke invite").click()
    expect(page.get_by_text(f"The invite to {LATECOMER} was revoked", exact=True)).to_be_visible()
    expect(page.get_by_text("No pending invites.")).to_be_visible()


def make_the_teammate_a_member(page: Page) -> None:
    members = page.get_by_role("table", name="Members")
    expect(members).to_contain_text(TEAMMATE)
    members.get_by_label(f"Role of {TEAMMATE}").select_option("member")
    members.get_by_role("button", name=f"Change role of {TEAMMATE}").click()
    expect(page.get_by_text(f"{TEAMMATE} is now Member", exact=True)).to_be_visible()


def rename_the_team(page: Page, slug: str) -> None:
    form = page.get_by_role("form", name="Team name and slug")
    form.get_by_label("Team name").fill("Engines Ltd")
    form.get_by_label("Slug").fill(slug)
    form.get_by_role("button", name="Save name and slug").click()
    expect(page.get_by_text("The team is now Engines Ltd", exact=True)).to_be_visible()


def change_the_settings(page: Page, stages: Stages) -> None:
    form = page.get_by_role("form", name="Team settings")
    form.get_by_label("Billing email").fill("billing@engines.example.com")
    form.get_by_role("button", name="Add a contact").click()
    form.get_by_label("Contact 1 name").fill("Ada")
    form.get_by_label("Contact 1 email").fill("security@engines.example.com")
    form.get_by_label("Contact 1 topic").fill("security")
    form.get_by_label("Members joined, left or changed role").check()
    form.get_by_label("Webhook URL").fill("https://127.0.0.1/hooks")
    form.get_by_label("Flags (JSON object)").fill('{"beta": tru')
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_text("Flags must be valid JSON")).to_be_visible()
    form.get_by_label("Flags (JSON object)").fill('{"beta": true}')
    form.get_by_label("Contact 1 topic").fill("s" * 61)
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_label("Contact 1 topic")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Contact 1 topic").fill("security")
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_text("it must point to a public host").first).to_be_visible()
    stages.done("settings-refused")
    form.get_by_label("Webhook URL").fill(WEBHOOK)
    form.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved", exact=True)).to_be_visible()
    page.reload()
    form = page.get_by_role("form", name="Team settings")
    expect(form.get_by_label("Webhook URL")).to_have_value(WEBHOOK)
    expect(form.get_by_label("Contact 1 email")).to_have_value("security@engines.example.com")
    stages.done("settings-saved")


def see_it_all_in_the_audit_log(page: Page, stages: Stages) -> None:
    page.get_by_role("link", name="Open the audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    log = page.get_by_role("table", name="Audit log")
    for event in (
        "Signed in",
        "Invite sent",
        "Invite revoked",
        "Role changed",
        "Team renamed",
        "Settings changed",
    ):
        expect(log.get_by_role("cell", name=event, exact=True).first).to_be_visible()
    expect(log).to_contain_text(OWNER)
    stages.done("audit-log")
    page.get_by_label("Show events").select_option("tenant.settings_changed")
    expect(log.get_by_role("row")).to_have_count(2)
    expect(log.get_by_role("cell", name="Settings changed", exact=True)).to_be_visible()
    stages.done("audit-log-filtered")


def test_an_admin_manages_the_team_and_reads_its_audit_log(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    sign_up(page, stack, OWNER)
    verify_email(page, stack, OWNER)
    log_in_again(page, stack, OWNER)  # the sign-in the audit log shows
    invite_a_teammate(page, stages, TEAMMATE)
    invite_a_teammate(page, stages, LATECOMER)
    join_by_invite(browser, stack, browser_errors, TEAMMATE, "Lin")
    revoke_the_pending_invite(page, stages)
    make_the_teammate_a_member(page)
    rename_the_team(page, "engines-ltd")
    change_the_settings(page, stages)

    def team_shown() -> None:
        page.goto(stack.gateway_url + "/team")
        expect(page.get_by_role("form", name="Team settings")).to_be_visible()

    assert findings_at_every_width(page, team_shown) == {}
    page.set_viewport_size({"width": 1280, "height": 900})
    see_it_all_in_the_audit_log(page, stages)

    def audit_shown() -> None:
        page.goto(stack.gateway_url + "/team/audit")
        expect(page.get_by_role("table", name="Audit log")).to_be_visible()

    assert findings_at_every_width(page, audit_shown) == {}
    assert re.search(r"/team/audit$", page.url)
