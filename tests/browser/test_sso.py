"""Single sign-on in a browser: the login page offers the mock provider, a person signs in there
and lands signed in in the app (a new account, its terms accepted first), then sees the provider
linked under Account and unlinks it; a provider that has not
verified the email brings the person back to the login page with the reason. Each screen passes
axe-core at 375 and 1280 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from agentbus_shared.testing.oidc import OidcProviderServer
from agentbus_shared.testing.stack import Stack

from .browser_support import Stages, findings_at_every_width

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

PROVIDER_STYLES = "https://cdn.jsdelivr.net/**"
"""The mock provider's page asks a CDN for its stylesheet; the test machine has no Internet."""


def without_the_providers_styles(page: Page) -> None:
    def empty_stylesheet(route: Route) -> None:
        route.fulfill(status=200, content_type="text/css", body="")

    page.route(PROVIDER_STYLES, empty_stylesheet)


def continue_with_the_provider(page: Page, stack: Stack, stages: Stages, sub: str) -> None:
    """From the login page, through the provider's page, as ``sub``."""
    without_the_providers_styles(page)
    page.goto(stack.gateway_url + "/login")
    button = page.get_by_role("link", name="Continue with Mock ID")
    assert findings_at_every_width(page, lambda: expect(button).to_be_visible()) == {}
    stages.done("login-offers-the-provider")
    button.click()
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_person_signs_in_with_the_provider_and_lands_in_the_app(
    page: Page, stack: Stack, stages: Stages, oidc_provider: OidcProviderServer
) -> None:
    email = "grace.sso@example.com"
    oidc_provider.set_user("grace", email=email, email_verified=True, name="Grace Hopper")
    continue_with_the_provider(page, stack, stages, "grace")
    expect(page.get_by_role("heading", name="Before you continue")).to_be_visible()
    stages.done("new-account-accepts-the-terms")
    page.get_by_role("checkbox", name=re.compile("terms of service")).check()
    page.get_by_role("checkbox", name=re.compile("privacy notice")).check()
    page.get_by_role("button", name="Accept and continue").click()
    expect(page.get_by_role("heading", name="Welcome, Grace Hopper")).to_be_visible()
    stages.done("signed-in")
    page.reload()  # the session lives in the cookie, as after a password login
    expect(page.get_by_role("heading", name="Welcome, Grace Hopper")).to_be_visible()
    page.goto(stack.gateway_url + "/account")
    linked = page.get_by_role("table", name="Single sign-on providers linked to your account")
    unlink = linked.get_by_role("button", name="Unlink Mock ID")
    assert findings_at_every_width(page, lambda: expect(unlink).to_be_visible()) == {}
    stages.done("account-lists-the-linked-provider")
    unlink.click()
    dialog = page.get_by_role("alertdialog", name="Unlink Mock ID?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Unlink").click()
    expect(
        page.get_by_text("No single sign-on provider is linked to your account.")
    ).to_be_visible()
    stages.done("provider-unlinked")


def test_an_unverified_email_brings_the_person_back_with_the_reason(
    page: Page, stack: Stack, stages: Stages, oidc_provider: OidcProviderServer
) -> None:
    oidc_provider.set_user("linus", email="linus.sso@example.com", email_verified=False)
    continue_with_the_provider(page, stack, stages, "linus")
    expect(page).to_have_url(re.compile(r"/login\?sso_error=sso_email_unverified$"))
    reason = page.get_by_role("alert").filter(has_text="has not verified your email")
    assert findings_at_every_width(page, lambda: expect(reason).to_be_visible()) == {}
    stages.done("refused-with-the-reason")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
