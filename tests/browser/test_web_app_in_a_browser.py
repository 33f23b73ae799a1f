"""The web app in Chromium against the running system, one person's journey: open ``/``,
register, verify the email, turn on two-factor sign-in (and make a service account, its secret
shown once, then revoke it), log out, log in with a TOTP code back where they were, ask a question
and watch the answer stream in with its handoff and tool card, stop a long answer, find the
conversation by search, upgrade the plan through Stripe Checkout with the test card and see it
arrive live in another tab, invite a teammate, reload and still be logged in, log out (which ends
the billing stream). Every page passes axe-core at 375 and 1280 px without a sideways scroll,
and so do the journey's passing states (the TOTP QR code and recovery codes, a service account's
secret, the login's TOTP step, a conversation with its tool cards, billing with an invoice). A
screenshot of each stage is kept in ``test-output/browser/<test>/``."""

from __future__ import annotations

import re

import httpx
import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from prometheus_client.parser import text_string_to_metric_families

from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import eventually_blocking, in_previous_totp_step

from .browser_support import (
    PASSWORD,
    WIDTHS,
    Stages,
    accept_the_terms,
    accessibility_findings,
    feature_overrides,
    findings_at_every_width,
    invite_a_teammate,
    log_in,
    open_billing,
    open_the_team_as_operator,
    save_feature_overrides,
    sign_up,
    verify_email,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

PUBLIC_PAGES = (
    "/",
    "/pricing",
    "/login",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/invite?token=t",
    "/no-such-page",
)
PRIVATE_PAGES = ("/app", "/verify-email", "/account", "/chat")
TEAMMATE = "lin.browser@example.com"
OPERATOR = "olga.browser-operator@example.com"
CANCELLED = "The run was cancelled; the partial reply was saved."
"""What the page shows for the ``error`` event that ends a run its person stopped: a run that
ends by itself (or fails) says something else."""


def enable_totp(page: Page, stages: Stages) -> pyotp.TOTP:
    """Turn on two-factor sign-in from the account page; the authenticator, as the person's."""
    page.get_by_role("link", name="Account").click()
    two_factor = page.get_by_role("region", name="Two-factor sign-in")
    two_factor.get_by_label("Current password").fill(PASSWORD)
    two_factor.get_by_role("button", name="Set up an authenticator app").click()
    qr_code = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr_code).to_be_visible()
    assert findings_at_every_width(page, lambda: expect(qr_code).to_be_visible()) == {}
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text())
    stages.done("totp-qr-code")
    page.get_by_label("Code from the app").fill(totp.at(in_previous_totp_step()))
    page.get_by_role("button", name="Turn on").click()
    recovery_codes = page.get_by_role("list", name="Recovery codes")
    expect(recovery_codes.get_by_role("listitem")).to_have_count(10)
    assert findings_at_every_width(page, lambda: expect(recovery_codes).to_be_visible()) == {}
    stages.done("recovery-codes-shown-once")
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    return totp


def create_and_revoke_a_service_account(
    page: Page, context: BrowserContext, stack: Stack, stages: Stages
) -> None:
    """On the account page: a service account whose secret is shown once, copied, gets a token;
    revoked after a confirmation, it gets none."""
    accounts = page.get_by_role("region", name="Service accounts", exact=True)
    accounts.get_by_label("Service account name").fill("Nightly export")
    accounts.get_by_role("checkbox", name=re.compile("^Read conversations")).check()
    accounts.get_by_role("button", name="Create service account").click()
    shown = accounts.get_by_role("region", name="Nightly export is ready")
    expect(shown).to_contain_text("shown only this once")
    assert findings_at_every_width(page, lambda: expect(shown).to_be_visible()) == {}
    credentials = {
        "grant_type": "client_credentials",
        "client_id": shown.get_by_test_id("service-account-client-id").inner_text(),
        "client_secret": shown.get_by_test_id("service-account-secret").inner_text(),
    }
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=stack.gateway_url)
    shown.get_by_role("button", name="Copy secret").click()
    expect(page.get_by_text("Secret copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == credentials["client_secret"]
    stages.done("service-account-secret-shown-once")
    token_url = stack.gateway_url + "/api/v1/auth/oauth/token"
    assert httpx.post(token_url, data=credentials, timeout=10).status_code == 200
    shown.get_by_role("button", name="I have stored it").click()
    expect(page.get_by_text(credentials["client_secret"])).to_have_count(0)
    table = accounts.get_by_role("table", name="Your team's service accounts")
    table.get_by_role("button", name="Revoke Nightly export").click()
    page.get_by_role("alertdialog", name="Revoke Nightly export?").get_by_role(
        "button", name="Revoke"
    ).click()
    expect(table).to_contain_text("Revoked")
    stages.done("service-account-revoked")
    assert httpx.post(token_url, data=credentials, timeout=10).status_code == 401


def an_operator_lets_the_team_use_the_research_agent(
    context: BrowserContext, stack: Stack, owner: str
) -> None:
    """The free plan leaves the research agent out; an operator's override turns it on for the
    owner's team, in force for chat once saved (docs/operations/feature-flags.md)."""
    assert context.browser is not None
    theirs = context.browser.new_context()
    try:
        page = theirs.new_page()
        open_the_team_as_operator(page, stack, OPERATOR, owner)
        overrides = feature_overrides(page)
        overrides.get_by_label("Override for Research agent").select_option("on")
        save_feature_overrides(page, overrides)
    finally:
        theirs.close()


def ask_and_watch_the_answer_stream_in(page: Page, stages: Stages) -> None:
    page.get_by_role("link", name="Chat").click()
    page.get_by_label("Message").fill("Please calculate (12 * 7) + 3 for my garden budget")
    page.get_by_role("button", name="Send").click()
    answer = page.get_by_role("article", name="Answer in progress")
    expect(answer.get_by_text("Handed off from triage to research")).to_be_visible()
    expect(answer.get_by_text(re.compile("Tool calculator"))).to_be_visible()
    stages.done("answer-streaming-with-handoff-and-tool")
    expect(page.get_by_role("button", name="Stop")).to_be_hidden(timeout=60_000)
    expect(page).to_have_url(re.compile(r"/chat/[^/]+$"))
    saved = page.get_by_role("article").filter(has_text="87").first
    expect(saved).to_be_visible()
    assert findings_at_every_width(page, lambda: expect(saved).to_be_visible()) == {}
    stages.done("answer-saved-in-the-conversation")


def stop_a_long_answer(page: Page, stages: Stages) -> None:
    page.get_by_label("Message").fill("Tell me in detail everything you can do for my team")
    page.get_by_role("button", name="Send").click()
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    answer = page.get_by_role("article", name="Answer in progress")
    expect(answer.locator("p").nth(1)).to_be_visible()
    stop.click()
    expect(answer.get_by_role("alert")).to_have_text(f"{CANCELLED} (cancelled)", timeout=30_000)
    expect(answer).to_have_attribute("aria-busy", "false")
    expect(stop).to_be_hidden()
    stages.done("long-answer-stopped")


def find_by_search(page: Page, stages: Stages) -> None:
    page.get_by_role("searchbox", name="Search conversations").fill("garden")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.get_by_role("list", name="Search results")
    expect(results.locator("mark").first).to_have_text(re.compile("garden", re.I))
    stages.done("found-by-search")
    results.get_by_role("link").first.click()
    expect(page.get_by_role("article").filter(has_text="87").first).to_be_visible()


def watch_billing_in_another_tab(context: BrowserContext, stack: Stack) -> Page:
    """A second tab on the billing page, marked so that a reload would show (the mark would go)."""
    watcher = context.new_page()
    watcher.goto(stack.gateway_url + "/billing")
    expect(watcher.get_by_test_id("current-plan")).to_have_text("Free")
    expect(watcher.get_by_text(re.compile("^Live:"))).to_be_visible()
    watcher.evaluate("window.neverReloaded = true")
    return watcher


def upgrade_through_checkout(page: Page, stack: Stack, stages: Stages) -> None:
    open_billing(page)
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
    invoices = page.get_by_role("table", name="Invoices")
    assert findings_at_every_width(page, lambda: expect(invoices).to_be_visible()) == {}


def see_the_plan_arrive_live(watcher: Page, stages: Stages) -> None:
    expect(watcher.get_by_test_id("current-plan")).to_have_text("Starter", timeout=30_000)
    expect(
        watcher.get_by_role("list", name="Usage this period").get_by_role(
            "progressbar", name="Messages"
        )
    ).to_have_attribute("aria-valuetext", re.compile(r" of 2,000 messages used "))
    assert watcher.evaluate("window.neverReloaded") is True
    watcher.screenshot(path=stages.folder / "starter-arrived-live-in-the-other-tab.png")
    watcher.close()


def still_logged_in_after_reload(page: Page, stages: Stages) -> None:
    page.reload()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    expect(page.get_by_role("table", name="Members")).to_be_visible()
    stages.done("still-logged-in-after-reload")


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


def log_out_ending_the_billing_stream(
    page: Page, context: BrowserContext, stack: Stack, stages: Stages
) -> None:
    """Logging out clears the session's cookies and ends the billing page's stream."""
    page.goto(stack.gateway_url + "/billing")
    expect(page.get_by_text(re.compile("^Live:"))).to_be_visible()
    open_now = eventually_blocking(lambda: open_billing_streams(stack), what="a billing stream")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert [c["name"] for c in context.cookies()] == []
    eventually_blocking(
        lambda: open_billing_streams(stack) < open_now, what="the billing stream ended"
    )
    stages.done("logged-out-at-the-end")


def test_a_persons_journey_from_sign_up_to_chat_billing_and_team(
    page: Page, context: BrowserContext, stack: Stack, stages: Stages
) -> None:
    email = "ada.browser@example.com"
    page.goto(stack.gateway_url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("AI agents")
    stages.done("landing")

    page.get_by_role("link", name="Start for free").click()
    page.get_by_label("Password").fill("short")
    accept_the_terms(page)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("request req_")
    stages.done("register-refused-with-the-reason")

    sign_up(page, stack, email)
    stages.done("registered")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert "agentbus_refresh" not in page.evaluate("document.cookie")

    verify_email(page, stack, email)
    expect(page.get_by_role("heading", name=re.compile("Welcome, Ada"))).to_be_visible()
    stages.done("email-verified")

    totp = enable_totp(page, stages)
    create_and_revoke_a_service_account(page, context, stack, stages)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert [c["name"] for c in context.cookies()] == []
    stages.done("logged-out")

    page.goto(stack.gateway_url + "/app")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(page, email)
    code = page.get_by_label("Authentication code")
    assert findings_at_every_width(page, lambda: expect(code).to_be_visible()) == {}
    code.fill(totp.now())
    stages.done("totp-step")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome, Ada"))).to_be_visible()
    assert page.url == stack.gateway_url + "/app"
    stages.done("back-where-they-were")

    an_operator_lets_the_team_use_the_research_agent(context, stack, email)
    ask_and_watch_the_answer_stream_in(page, stages)
    stop_a_long_answer(page, stages)
    find_by_search(page, stages)

    watcher = watch_billing_in_another_tab(context, stack)
    upgrade_through_checkout(page, stack, stages)
    see_the_plan_arrive_live(watcher, stages)

    invite_a_teammate(page, stages, TEAMMATE)
    still_logged_in_after_reload(page, stages)
    log_out_ending_the_billing_stream(page, context, stack, stages)
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def test_the_keyboard_reaches_the_skip_link_first(page: Page, stack: Stack) -> None:
    page.goto(stack.gateway_url + "/pricing")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_without_serious_violations(
    page: Page, stack: Stack, stages: Stages, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    found: dict[str, list[str]] = {}
    for path in PUBLIC_PAGES:
        page.goto(stack.gateway_url + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        found[path] = accessibility_findings(page)
        stages.done(f"{path.strip('/').split('?')[0] or 'landing'}-{width}")
    sign_up(page, stack, f"axe-{width}@example.com")
    for path in PRIVATE_PAGES:
        page.goto(stack.gateway_url + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        found[path] = accessibility_findings(page)
        stages.done(f"{path.strip('/')}-{width}")
    assert {path: v for path, v in found.items() if v} == {}
