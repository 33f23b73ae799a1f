"""The self-service profile in a browser: a person edits their profile, changes their email with the
code mailed to the new address (asking for a new code once) and signs in with it; an account
without the current terms meets the consent step right after login (the Account page staying
open); notification preferences (security mail locked on) and the refusal to disable the last
owner's account; new recovery codes shown once and copied. Each screen passes axe-core at 375 and
1280 px."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import in_previous_totp_step

from .browser_support import (
    PASSWORD,
    Stages,
    findings_at_every_width,
    log_in,
    log_in_again,
    open_account,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]


def edit_the_profile(page: Page, stages: Stages) -> None:
    profile = page.get_by_role("region", name="Profile")
    profile.get_by_label("Given name").fill("Ada")
    profile.get_by_label("Time zone").fill("Europe/London")
    profile.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Profile saved", exact=True)).to_be_visible()
    stages.done("profile-saved")


def change_the_email(page: Page, stack: Stack, stages: Stages, new_email: str) -> None:
    email = page.get_by_role("region", name="Email", exact=True)
    email.get_by_label("New email").fill(new_email)
    email.get_by_label("Current password").fill(PASSWORD)
    email.get_by_role("button", name="Send a code to the new address").click()
    code = email.get_by_label("Code from the email")
    assert findings_at_every_width(page, lambda: expect(code).to_be_visible()) == {}
    stages.done("email-code-asked")
    stack.mailed_code(new_email, "email_change")
    # A second code for the same address (the first one is then void): the address stays filled.
    email.get_by_role("button", name="Send a new code").click()
    expect(email.get_by_label("New email")).to_have_value(new_email)
    email.get_by_label("Current password").fill(PASSWORD)
    email.get_by_role("button", name="Send a code to the new address").click()
    code.fill(stack.mailed_code(new_email, "email_change", count=2))
    email.get_by_role("button", name="Confirm new email").click()
    expect(page.get_by_text("Email changed", exact=True)).to_be_visible()
    expect(email).to_contain_text(new_email)
    stages.done("email-changed")


def test_a_person_changes_their_email_and_signs_in_with_the_new_one(
    page: Page, stack: Stack, stages: Stages
) -> None:
    old_email, new_email = "mary.profile@example.com", "mary.moved@example.com"
    sign_up(page, stack, old_email)
    verify_email(page, stack, old_email)
    open_account(page)
    edit_the_profile(page, stages)

    change_the_email(page, stack, stages, new_email)

    assert "email address was changed" in str(
        stack.mail.wait_blocking(old_email, "security_alert").get_payload(decode=True)
    )
    log_in_again(page, stack, new_email)
    stages.done("signed-in-with-the-new-email")


def register_without_consents(stack: Stack, email: str) -> None:
    """An account made through the API without accepting the terms (an older client's way)."""
    body = {"email": email, "password": PASSWORD, "tenant_name": "Looms"}
    reply = httpx.post(stack.gateway_url + "/api/v1/auth/register", json=body, timeout=10)
    assert reply.status_code == 201, reply.text


def pass_the_consent_step(page: Page, stages: Stages) -> list[str]:
    """The consent step after login; its accessibility findings at both widths, then accepted."""
    step = page.get_by_role("heading", name="Before you continue")
    expect(step).to_be_visible()
    found = findings_at_every_width(page, lambda: expect(step).to_be_visible())
    stages.done("consent-step")
    # The Account page stays open meanwhile (preferences, disabling), then back to the step.
    page.get_by_role("link", name="Account page").click()
    expect(page.get_by_role("heading", name="Account", level=1)).to_be_visible()
    page.go_back()
    expect(step).to_be_visible()
    page.get_by_role("button", name="Accept and continue").click()
    alert = page.get_by_role("alert").filter(has_text="Tick each box")
    expect(alert).to_be_visible()
    page.get_by_role("checkbox", name=re.compile("terms of service")).check()
    page.get_by_role("checkbox", name=re.compile("privacy notice")).check()
    expect(alert).to_have_count(0)  # the alert goes once every box is ticked
    page.get_by_role("button", name="Accept and continue").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    return [f for findings in found.values() for f in findings]


def choose_notifications(page: Page, stages: Stages) -> list[str]:
    notifications = page.get_by_role("region", name="Notifications", exact=True)
    security_mail = notifications.get_by_role("checkbox", name="Security: email")
    expect(security_mail).to_be_checked()
    expect(security_mail).to_be_disabled()
    expect(notifications).to_contain_text("Security emails stay on")
    notifications.get_by_role("checkbox", name="Billing: email").uncheck()
    notifications.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_text("Notification preferences saved", exact=True)).to_be_visible()
    found = findings_at_every_width(page, lambda: expect(notifications).to_be_visible())
    stages.done("notification-preferences")
    page.reload()
    expect(notifications.get_by_role("checkbox", name="Billing: email")).not_to_be_checked()
    return [f for findings in found.values() for f in findings]


def last_owner_cannot_disable(page: Page, stages: Stages) -> list[str]:
    page.get_by_role("button", name="Disable account").click()
    dialog = page.get_by_role("dialog", name="Disable your account?")
    dialog.get_by_label("Current password").fill(PASSWORD)
    dialog.get_by_role("button", name="Disable my account").click()
    expect(dialog.get_by_role("alert")).to_contain_text("last owner")
    found = findings_at_every_width(page, lambda: expect(dialog).to_be_visible())
    stages.done("last-owner-refused")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Account", level=1)).to_be_visible()
    return [f for findings in found.values() for f in findings]


def test_the_consent_step_and_the_preferences_pass_axe_at_both_widths(
    page: Page, stack: Stack, stages: Stages
) -> None:
    email = "lena.consents@example.com"
    register_without_consents(stack, email)
    page.goto(stack.gateway_url + "/login")
    log_in(page, email)
    found = pass_the_consent_step(page, stages)

    open_account(page)
    terms = page.get_by_role("region", name="Terms and privacy")
    expect(terms).to_contain_text("(current)")
    found += choose_notifications(page, stages)
    found += last_owner_cannot_disable(page, stages)

    assert found == []


def turn_on_totp(page: Page) -> pyotp.TOTP:
    """Two-factor sign-in turned on from the account page; the authenticator, as the person's."""
    two_factor = page.get_by_role("region", name="Two-factor sign-in")
    two_factor.get_by_label("Current password").fill(PASSWORD)
    two_factor.get_by_role("button", name="Set up an authenticator app").click()
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text())
    two_factor.get_by_label("Code from the app").fill(totp.at(in_previous_totp_step()))
    two_factor.get_by_role("button", name="Turn on").click()
    two_factor.get_by_role("button", name="I have saved them").click()
    return totp


def test_new_recovery_codes_are_shown_once_and_copied(
    page: Page, context: BrowserContext, stack: Stack, stages: Stages
) -> None:
    sign_up(page, stack, "nina.codes@example.com")
    open_account(page)
    totp = turn_on_totp(page)
    two_factor = page.get_by_role("region", name="Two-factor sign-in")
    expect(two_factor).to_contain_text("10 left")
    assert findings_at_every_width(page, lambda: expect(two_factor).to_be_visible()) == {}
    stages.done("mfa-methods")

    two_factor.get_by_label("Code from the app", exact=True).fill(totp.now())
    two_factor.get_by_role("button", name="Make new recovery codes").click()

    codes = page.get_by_role("list", name="Recovery codes")
    expect(codes.get_by_role("listitem")).to_have_count(10)
    assert findings_at_every_width(page, lambda: expect(codes).to_be_visible()) == {}
    stages.done("new-recovery-codes")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.gateway_url)
    page.get_by_role("button", name="Copy codes").click()
    expect(page.get_by_text("Recovery codes copied", exact=True)).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()").split()
    assert copied == codes.get_by_role("listitem").all_inner_texts()
    page.get_by_role("button", name="I have saved them").click()
    expect(codes).to_have_count(0)
    expect(two_factor).to_contain_text("10 left")
