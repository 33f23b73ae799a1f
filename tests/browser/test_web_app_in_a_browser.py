"""The web app in Chromium against the running system: a person signs up, verifies the email,
turns on two-factor sign-in, reloads and is still logged in, logs out, is sent to log in by a
private page and comes back there after the TOTP step, asks a question and watches the answer
stream in with its handoff and tool card, stops a long answer, finds the conversation by search;
every page passes axe-core at 375 and
1280 px. A screenshot of each stage is kept in
``test-output/browser/<test>/``."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from agentbus_shared.testing.checkout import ROOT
from agentbus_shared.testing.stack import Stack
from agentbus_shared.testing.waiting import in_previous_totp_step

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.timeout(300)]

PASSWORD = "glacier-violin-tangerine-42"
WIDTHS = (375, 1280)
PUBLIC_PAGES = (
    "/",
    "/pricing",
    "/login",
    "/register",
    "/forgot-password",
    "/reset-password",
    "/invite?token=t",
)
PRIVATE_PAGES = ("/app", "/verify-email", "/account", "/chat")
SERIOUS = frozenset({"serious", "critical"})
SCREENSHOTS = ROOT / "test-output" / "browser"


@dataclass
class Stages:
    """Names each stage of a journey and keeps a screenshot of it."""

    page: Page
    folder: Path
    taken: list[str] = field(default_factory=list)

    def done(self, name: str) -> None:
        self.taken.append(name)
        self.page.screenshot(path=self.folder / f"{len(self.taken):02d}-{name}.png", full_page=True)


@pytest.fixture
def stages(page: Page, request: pytest.FixtureRequest) -> Stages:
    """Screenshots of this test's stages in ``test-output/browser/<test>/``, emptied at its start
    (pytest-playwright's own output folder is emptied by every pytest run, so it keeps nothing)."""
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Stages(page, folder)


def sign_up(page: Page, stack: Stack, email: str) -> None:
    page.goto(stack.gateway_url + "/")
    page.get_by_role("link", name="Start for free").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name").fill("Ada")
    page.get_by_label("Team or company name").fill("Engines")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Verify your email")).to_be_visible()


def log_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def enable_totp(page: Page, stages: Stages) -> pyotp.TOTP:
    """Turn on two-factor sign-in from the account page; the authenticator, as the person's."""
    page.get_by_role("link", name="Account").click()
    two_factor = page.get_by_role("region", name="Two-factor sign-in")
    two_factor.get_by_label("Current password").fill(PASSWORD)
    two_factor.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    totp = pyotp.TOTP(page.get_by_test_id("totp-secret").inner_text())
    stages.done("totp-qr-code")
    page.get_by_label("Code from the app").fill(totp.at(in_previous_totp_step()))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(
        10
    )
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
    expect(page.get_by_role("article").filter(has_text="87").first).to_be_visible()
    stages.done("answer-saved-in-the-conversation")


def stop_a_long_answer(page: Page, stages: Stages) -> None:
    page.get_by_label("Message").fill("Tell me in detail everything you can do for my team")
    page.get_by_role("button", name="Send").click()
    stop = page.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    expect(
        page.get_by_role("article", name="Answer in progress").locator("p").nth(1)
    ).to_be_visible()
    stop.click()
    expect(stop).to_be_hidden(timeout=30_000)
    stages.done("long-answer-stopped")


def find_by_search(page: Page, stages: Stages) -> None:
    page.get_by_role("searchbox", name="Search conversations").fill("garden")
    page.get_by_role("button", name="Search", exact=True).click()
    results = page.get_by_role("list", name="Search results")
    expect(results.locator("mark").first).to_have_text(re.compile("garden", re.I))
    stages.done("found-by-search")
    results.get_by_role("link").first.click()
    expect(page.get_by_role("article").filter(has_text="87").first).to_be_visible()


def serious_violations(page: Page) -> list[str]:
    violations = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v.get("impact") in SERIOUS]


def test_a_person_signs_up_turns_on_totp_logs_back_in_and_chats_with_the_agents(
    page: Page, context: BrowserContext, stack: Stack, stages: Stages
) -> None:
    email = "ada.browser@example.com"
    page.goto(stack.gateway_url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("AI agents")
    stages.done("landing")

    page.get_by_role("link", name="Start for free").click()
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("request req_")
    stages.done("register-refused-with-the-reason")

    sign_up(page, stack, email)
    stages.done("registered")
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert "agentbus_refresh" not in page.evaluate("document.cookie")

    page.get_by_label("Code").fill(stack.mailed_code(email, "verify_email"))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome, Ada"))).to_be_visible()
    stages.done("email-verified")

    totp = enable_totp(page, stages)
    create_and_revoke_a_service_account(page, context, stack, stages)
    page.reload()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    stages.done("still-logged-in-after-reload")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert [c["name"] for c in context.cookies()] == []
    stages.done("logged-out")

    page.goto(stack.gateway_url + "/app")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(page, email)
    page.get_by_label("Authentication code").fill(totp.now())
    stages.done("totp-step")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome, Ada"))).to_be_visible()
    assert page.url == stack.gateway_url + "/app"
    stages.done("back-where-they-were")

    ask_and_watch_the_answer_stream_in(page, stages)
    stop_a_long_answer(page, stages)
    find_by_search(page, stages)


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
        found[path] = serious_violations(page)
        stages.done(f"{path.strip('/').split('?')[0] or 'landing'}-{width}")
    sign_up(page, stack, f"axe-{width}@example.com")
    for path in PRIVATE_PAGES:
        page.goto(stack.gateway_url + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        found[path] = serious_violations(page)
        stages.done(f"{path.strip('/')}-{width}")
    assert {path: v for path, v in found.items() if v} == {}
