"""Who may sign up, in Chromium against the running system: a visitor asks for access from the
landing page, an operator (``agentbus auth operators grant``) approves the request on the operator
screen, rejects another with a reason, sends and revokes a signup invite, and the visitor creates
their account from the mailed link. The access-request form, the operator screen, its reject
dialog and the invited register page pass axe-core at 375 and 1280 px without a sideways scroll;
the screen is in the navigation of operators only."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from agentbus_shared.testing.stack import Stack

from .browser_support import (
    PASSWORD,
    WIDTHS,
    BrowserErrors,
    Stages,
    accept_the_terms,
    accessibility_findings,
    findings_at_every_width,
    log_in_again,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

OPERATOR = "olga.operator@example.com"
VISITOR = "vera.visitor@example.com"
REJECTED = "rex.rejected@example.com"
INVITED = "ida.invited@example.com"


def the_visitor_requests_access(page: Page, stack: Stack, stages: Stages) -> dict[int, list[str]]:
    page.goto(stack.gateway_url + "/")
    page.get_by_role("link", name="Request access").click()
    expect(page.get_by_role("heading", name="Request access", level=1)).to_be_visible()
    found = findings_at_every_width(
        page, lambda: expect(page.get_by_label("Email")).to_be_visible()
    )
    page.get_by_label("Email").fill(VISITOR)
    page.get_by_label("Your name").fill("Vera")
    page.get_by_label("Company (optional)").fill("Looms Ltd")
    page.get_by_label("What would you like to use Agentbus for? (optional)").fill("Support bots")
    stages.done("access-request-filled")
    page.get_by_role("button", name="Request access").click()
    expect(page.get_by_text("Your request is in.")).to_be_visible()
    stages.done("access-requested")
    return found


def the_operator_opens_the_signups_screen(page: Page, stack: Stack) -> None:
    """A person made operator by the CLI logs in again and finds the screen in the navigation."""
    sign_up(page, stack, OPERATOR)
    verify_email(page, stack, OPERATOR)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Sign-ups")).to_have_count(0)
    stack.agentbus("auth", "operators", "grant", OPERATOR)
    log_in_again(page, stack, OPERATOR)
    nav.get_by_role("link", name="Sign-ups").click()
    expect(page.get_by_role("heading", name="Sign-ups", level=1)).to_be_visible()


def the_operator_decides(page: Page, stack: Stack, stages: Stages) -> dict[str, list[str]]:
    requests = page.get_by_role("table", name="Access requests")
    expect(requests).to_contain_text(VISITOR)
    expect(requests).to_contain_text(REJECTED)
    found = {
        f"operator@{w}": v
        for w, v in findings_at_every_width(
            page, lambda: expect(requests).to_contain_text("Support bots")
        ).items()
    }
    stages.done("signup-requests")

    requests.get_by_role("button", name=f"Reject {REJECTED}").click()
    dialog = page.get_by_role("dialog", name=f"Reject {REJECTED}?")
    dialog.get_by_label("Reason (optional, mailed to them)").fill("We open to teams next month.")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found[f"reject-dialog@{width}"] = accessibility_findings(page)
    stages.done("reject-dialog")
    dialog.get_by_role("button", name="Reject request").click()
    expect(page.get_by_text(f"{REJECTED} rejected", exact=True)).to_be_visible()
    told = stack.mail.wait_blocking(REJECTED, "signup_rejected").get_payload(decode=True)
    assert isinstance(told, bytes)
    assert "We open to teams next month." in told.decode()

    requests.get_by_role("button", name=f"Approve {VISITOR}").click()
    expect(page.get_by_text(f"{VISITOR} approved", exact=True)).to_be_visible()
    invites = page.get_by_role("table", name="Signup invites")
    expect(invites).to_contain_text(VISITOR)
    stages.done("request-approved")
    return {where: v for where, v in found.items() if v}


def the_operator_sends_and_revokes_an_invite(page: Page, stages: Stages) -> None:
    page.get_by_role("button", name="Send a signup invite").click()
    dialog = page.get_by_role("dialog", name="Invite someone to sign up")
    dialog.get_by_label("Email").fill(INVITED)
    dialog.get_by_label("Note for operators (optional, not mailed)").fill("Met at the fair")
    dialog.get_by_role("button", name="Send invite").click()
    expect(page.get_by_text(f"Signup invite sent to {INVITED}", exact=True)).to_be_visible()
    invites = page.get_by_role("table", name="Signup invites")
    invites.get_by_role("button", name=f"Revoke the invite to {INVITED}").click()
    page.get_by_role("alertdialog", name=f"Revoke the invite to {INVITED}?").get_by_role(
        "button", name="Revoke"
    ).click()
    expect(page.get_by_text(f"The invite to {INVITED} was revoked", exact=True)).to_be_visible()
    expect(invites.get_by_role("button", name=f"Revoke the invite to {INVITED}")).to_have_count(0)
    stages.done("invite-revoked")


def the_visitor_registers_from_the_mailed_link(
    browser: Browser, stack: Stack, stages: Stages, errors: BrowserErrors
) -> dict[int, list[str]]:
    """The mailed link names the register page with the invite and the email; the dev stack's
    mails name the default public URL, so the link's path and query are opened on this stack."""
    link = urlsplit(stack.mailed_link(VISITOR, "signup_invite"))
    assert link.path == "/register"
    theirs = browser.new_context()
    errors.watch(theirs)
    try:
        page = theirs.new_page()
        page.goto(f"{stack.gateway_url}{link.path}?{link.query}")
        expect(page.get_by_label("Email")).to_have_value(VISITOR)
        expect(page.get_by_text("You were invited")).to_be_visible()
        found = findings_at_every_width(
            page, lambda: expect(page.get_by_label("Password")).to_be_visible()
        )
        page.get_by_label("Your name").fill("Vera")
        page.get_by_label("Team or company name").fill("Looms")
        page.get_by_label("Password").fill(PASSWORD)
        accept_the_terms(page)
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name="Welcome, Vera")).to_be_visible()
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Sign-ups")).to_have_count(0)
        page.screenshot(path=stages.folder / "invitee-registered.png", full_page=True)
        return found
    finally:
        theirs.close()


def test_a_visitor_requests_access_an_operator_approves_and_they_sign_up_from_the_mail(
    page: Page, browser: Browser, stack: Stack, stages: Stages, browser_errors: BrowserErrors
) -> None:
    form_findings = the_visitor_requests_access(page, stack, stages)
    httpx.post(
        stack.gateway_url + "/api/v1/auth/request-access",
        json={"email": REJECTED, "name": "Rex"},
        timeout=30,
    ).raise_for_status()

    the_operator_opens_the_signups_screen(page, stack)
    operator_findings = the_operator_decides(page, stack, stages)
    the_operator_sends_and_revokes_an_invite(page, stages)
    register_findings = the_visitor_registers_from_the_mailed_link(
        browser, stack, stages, browser_errors
    )

    assert form_findings == {}
    assert operator_findings == {}
    assert register_findings == {}
