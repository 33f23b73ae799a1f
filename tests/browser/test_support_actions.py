"""An admin's password reset and a person disabling their own account, in Chromium against the
running system: the owner resets a teammate's password from the team page after a confirmation,
the teammate — signed out — sets a new one with the mailed code and signs in with it, then
disables their account from the Account page, is signed out and can no longer sign in. The reset confirmation
and the disable dialog pass axe-core at 375 and 1280 px."""

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
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OWNER = "olive.support@example.com"
TEAMMATE = "tia.support@example.com"
NEW_PASSWORD = "lantern-harbour-quartz-58"


def findings_in_the_open_dialog(page: Page) -> dict[int, list[str]]:
    found = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found[width] = accessibility_findings(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    return {width: violations for width, violations in found.items() if violations}


def the_owner_resets_the_teammates_password(page: Page, stages: Stages) -> dict[int, list[str]]:
    page.reload()
    members = page.get_by_role("table", name="Members")
    members.get_by_role("button", name=f"Reset password of {TEAMMATE}").click()
    confirm = page.get_by_role("alertdialog", name=f"Reset the password of {TEAMMATE}?")
    expect(confirm).to_be_visible()
    found = findings_in_the_open_dialog(page)
    stages.done("reset-confirmation")
    confirm.get_by_role("button", name="Reset password").click()
    expect(page.get_by_text(f"{TEAMMATE} was signed out everywhere", exact=True)).to_be_visible()
    return found


def the_teammate_sets_a_new_password_and_disables_the_account(
    page: Page, stack: Stack, stages: Stages
) -> dict[int, list[str]]:
    code = stack.mailed_code(TEAMMATE, "password_reset_by_admin")
    page.goto(f"{stack.gateway_url}/reset-password?email={TEAMMATE}")
    page.get_by_label("Code from the email").fill(code)
    page.get_by_role("textbox", name="New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in_with(page, NEW_PASSWORD)
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    stages.done("new-password-works")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Disable account").click()
    dialog = page.get_by_role("dialog", name="Disable your account?")
    expect(dialog).to_be_visible()
    found = findings_in_the_open_dialog(page)
    dialog.get_by_label("Current password").fill(NEW_PASSWORD)
    dialog.get_by_role("button", name="Disable my account").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()  # signed out
    stages.done("account-disabled")
    return found


def log_in_with(page: Page, password: str) -> None:
    page.get_by_label("Email").fill(TEAMMATE)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_resets_a_teammates_password_and_the_teammate_disables_their_account(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    sign_up(page, stack, OWNER)
    verify_email(page, stack, OWNER)
    invite_a_teammate(page, stages, TEAMMATE)
    join_by_invite(browser, stack, browser_errors, TEAMMATE, "Tia")
    reset_findings = the_owner_resets_the_teammates_password(page, stages)

    theirs = browser.new_context()
    browser_errors.watch(theirs)
    try:
        teammate = theirs.new_page()
        disable_findings = the_teammate_sets_a_new_password_and_disables_the_account(
            teammate, stack, stages
        )
        log_in_with(teammate, NEW_PASSWORD)
        expect(teammate.get_by_role("alert")).to_contain_text("disabled")
    finally:
        theirs.close()

    assert reset_findings == {}
    assert disable_findings == {}
