"""One person's identity from first invite to single sign-on, in Chromium against the running
system, and the trail it leaves: an operator sends a signup invite (``agentbus auth signup
invite``), the invitee creates their team from the mailed link, changes their email with the code
mailed to the new address, links the single sign-on provider by signing in there with that
address, and — as the team's owner, an admin — finds every step in the team's audit log."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from agentbus_shared.testing.oidc import OidcProviderServer
from agentbus_shared.testing.stack import Stack

from .browser_support import (
    PASSWORD,
    Stages,
    accept_the_terms,
    findings_at_every_width,
    open_account,
)
from .test_profile import change_the_email
from .test_sso import continue_with_the_provider

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

INVITEE = "nora.journey@example.com"
MOVED = "nora.moved@example.com"
SUB = "nora-at-the-provider"


def register_from_the_mailed_invite(page: Page, stack: Stack, stages: Stages) -> None:
    stack.agentbus("auth", "signup", "invite", INVITEE)
    link = urlsplit(stack.mailed_link(INVITEE, "signup_invite"))
    page.goto(f"{stack.gateway_url}{link.path}?{link.query}")
    expect(page.get_by_label("Email")).to_have_value(INVITEE)
    page.get_by_label("Your name").fill("Nora")
    page.get_by_label("Team or company name").fill("Journeys")
    page.get_by_label("Password").fill(PASSWORD)
    accept_the_terms(page)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Welcome, Nora")).to_be_visible()
    stages.done("registered-from-the-invite")


def link_the_provider(
    page: Page, stack: Stack, stages: Stages, provider: OidcProviderServer
) -> None:
    """Signed out, the person signs in at the provider, which vouches for the new address: the
    account is linked and signed in."""
    page.get_by_role("button", name="Log out").click()
    provider.set_user(SUB, email=MOVED, email_verified=True, name="Nora")
    continue_with_the_provider(page, stack, stages, SUB)
    expect(page.get_by_role("heading", name="Welcome, Nora")).to_be_visible()
    stages.done("signed-in-with-the-provider")


def see_the_journey_in_the_audit_log(page: Page, stages: Stages) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.get_by_role("link", name="Open the audit log").click()
    log = page.get_by_role("table", name="Audit log")
    for event in (
        "Account created",
        "Joined with a signup invite",
        "Email changed",
        "Single sign-on linked",
        "Signed in with single sign-on",
    ):
        expect(log.get_by_role("cell", name=event, exact=True).first).to_be_visible()
    expect(log).to_contain_text(MOVED)
    stages.done("audit-log")


def test_an_invitee_signs_up_moves_their_email_links_sso_and_sees_it_all_audited(
    page: Page, stack: Stack, stages: Stages, oidc_provider: OidcProviderServer
) -> None:
    register_from_the_mailed_invite(page, stack, stages)
    open_account(page)
    change_the_email(page, stack, stages, MOVED)
    link_the_provider(page, stack, stages, oidc_provider)
    see_the_journey_in_the_audit_log(page, stages)

    def audit_shown() -> None:
        page.goto(page.url)
        expect(page.get_by_role("table", name="Audit log")).to_be_visible()

    assert findings_at_every_width(page, audit_shown) == {}
    assert re.search(r"/team/audit$", page.url)
