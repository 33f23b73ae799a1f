"""What the browser tests share: the errors a page reports (console errors, uncaught exceptions,
refusals by the Content-Security-Policy), the stages of a journey with their screenshots, the
steps every person takes (sign up, verify the email, log in, open billing, invite a teammate)
and what a page must not have at a phone's or a desktop's width (axe-core's serious findings, a
sideways scroll)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Locator, Page, expect

from agentbus_shared.testing.checkout import ROOT
from agentbus_shared.testing.stack import Stack

PASSWORD = "glacier-violin-tangerine-42"
WIDTHS = (375, 1280)
"""A phone's and a desktop's width: every page is checked at both."""
SERIOUS = frozenset({"serious", "critical"})
SCREENSHOTS = ROOT / "test-output" / "browser"

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(
    `CSP violation: ${event.violatedDirective} refused ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`,
  );
});
"""
"""Run in every page before its own scripts: a refusal by the CSP becomes a console error."""

ANSWERED_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
"""Chromium's own line for a 4xx answer the app asked for and shows (a refused form, the refresh
of a person not logged in): the test asserts what the page shows instead."""


@dataclass
class BrowserErrors:
    """Console errors, uncaught exceptions and CSP refusals seen in the watched contexts."""

    seen: list[str] = field(default_factory=list)

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.seen.append(f"uncaught: {error.error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not ANSWERED_4XX.match(message.text):
            self.seen.append(f"{message.text} ({message.location.get('url', '')})")


@dataclass
class Stages:
    """Names each stage of a journey and keeps a screenshot of it."""

    page: Page
    folder: Path
    taken: list[str] = field(default_factory=list)

    def done(self, name: str) -> None:
        self.taken.append(name)
        self.page.screenshot(path=self.folder / f"{len(self.taken):02d}-{name}.png", full_page=True)


def sign_up(page: Page, stack: Stack, email: str) -> None:
    page.goto(stack.gateway_url + "/")
    page.get_by_role("link", name="Start for free").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Team or company name").fill("Engines")
    page.get_by_label("Password").fill(PASSWORD)
    accept_the_terms(page)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Verify your email")).to_be_visible()


def accept_the_terms(page: Page) -> None:
    """Tick the box that accepts the terms of service and the privacy notice (sign-up, joining)."""
    page.get_by_role("checkbox", name=re.compile("^I accept the terms of service")).check()


def join_by_invite(
    browser: Browser, stack: Stack, errors: BrowserErrors, email: str, name: str
) -> None:
    """The invited person opens the mailed link in their own browser and joins with a password."""
    theirs = browser.new_context()
    errors.watch(theirs)
    try:
        page = theirs.new_page()
        page.goto(f"{stack.gateway_url}/invite?token={stack.mailed_invite(email)}")
        page.get_by_label("Your name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        accept_the_terms(page)
        page.get_by_role("button", name="Join").click()
        expect(page.get_by_role("heading", name=f"Welcome, {name}")).to_be_visible()
    finally:
        theirs.close()


def verify_email(page: Page, stack: Stack, email: str) -> None:
    page.get_by_label("Code").fill(stack.mailed_code(email, "verify_email"))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


def log_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def log_in_again(page: Page, stack: Stack, email: str) -> None:
    """Log out, then in again as ``email`` from the login page, back at the welcome."""
    page.get_by_role("button", name="Log out").click()
    page.goto(stack.gateway_url + "/login")
    log_in(page, email)
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()


def open_the_team_as_operator(
    page: Page, stack: Stack, operator: str, owner: str, team: str = "Engines"
) -> None:
    """``operator`` signs up, is granted platform:operate, finds ``owner``'s team (``sign_up``
    names it Engines) by the owner's email and opens its tenant page."""
    sign_up(page, stack, operator)
    verify_email(page, stack, operator)
    stack.agentbus("auth", "operators", "grant", operator)
    log_in_again(page, stack, operator)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tenants").click()
    page.get_by_label("Name, slug or owner email").fill(owner)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("table", name="Tenants").get_by_role("link", name=team).click()
    expect(page.get_by_role("heading", name=team, level=1)).to_be_visible()


def feature_overrides(page: Page) -> Locator:
    """The feature overrides form of the tenant page open."""
    return page.get_by_role("form", name="Feature overrides")


def save_feature_overrides(page: Page, overrides: Locator) -> None:
    """Save the overrides form; answered once billing has the overrides in force."""
    overrides.get_by_role("button", name="Save overrides").click()
    expect(page.get_by_text("Feature overrides saved", exact=True)).to_be_visible()


def open_account(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
    expect(page.get_by_role("heading", name="Account", level=1)).to_be_visible()


def open_billing(page: Page) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()


def invite_a_teammate(page: Page, stages: Stages, email: str) -> None:
    """From the team page, invite ``email`` as an admin through the invite dialog."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    page.get_by_role("button", name="Invite a teammate").click()
    dialog = page.get_by_role("dialog", name="Invite a teammate")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Role").select_option("admin")
    stages.done("invite-dialog")
    dialog.get_by_role("button", name="Send invite").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text(f"Invite sent to {email}", exact=True)).to_be_visible()


def serious_violations(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v.get("impact") in SERIOUS]


PAST_THE_WINDOW = """() => {
  const root = document.documentElement;
  const past = [...document.body.querySelectorAll("*")].filter(
    (element) => element.getBoundingClientRect().right > root.clientWidth + 0.5,
  );
  const innermost = past.filter(
    (element) => !past.some((other) => other !== element && element.contains(other)),
  );
  const named = innermost.slice(0, 3).map((element) => element.outerHTML.slice(0, 120));
  return [root.scrollWidth, root.clientWidth, named];
}"""
"""The page's width, the window's, and the first elements reaching past the window's edge."""


def sideways_scroll(page: Page) -> list[str]:
    """The page is wider than the window (a phone would scroll it sideways), if so, with what
    reaches past the window's edge."""
    wider, window, past = page.evaluate(PAST_THE_WINDOW)
    if wider <= window:
        return []
    return [f"page {wider} px wide in a {window} px window: " + " | ".join(past)]


def accessibility_findings(page: Page) -> list[str]:
    """axe-core's serious or critical violations on the page, and a sideways scroll."""
    return serious_violations(page) + sideways_scroll(page)


def findings_at_every_width(page: Page, shown: Callable[[], None]) -> dict[int, list[str]]:
    """:func:`accessibility_findings` of the page as it is now, at each of :data:`WIDTHS` once
    ``shown`` has seen it laid out there; the widths with findings. The page stays at the last."""
    found: dict[int, list[str]] = {}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shown()
        found[width] = accessibility_findings(page)
    return {width: v for width, v in found.items() if v}
