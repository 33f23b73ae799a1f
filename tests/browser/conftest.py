"""The browser suite's running system: the web app built, then the dev stack as `task dev` starts
it, driven by Playwright in Debian's Chromium (``scripts/ensure-chromium.sh`` installs it)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from agentbus_shared.testing.host_network import interfaces_steady
from agentbus_shared.testing.oidc import OidcProviderServer
from agentbus_shared.testing.stack import Stack, generous_rate_limits, start_stack
from agentbus_shared.webapp import WebApp

from .browser_support import SCREENSHOTS, BrowserErrors, Stages


@pytest.fixture(scope="package")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    """The OpenID Connect provider the login page offers ("Continue with Mock ID")."""
    with OidcProviderServer(tmp_path_factory.mktemp("oidc") / "data") as provider:
        yield provider


@pytest.fixture(scope="package")
def stack(
    tmp_path_factory: pytest.TempPathFactory, oidc_provider: OidcProviderServer
) -> Iterator[Stack]:
    """The web app's current build served by the dev stack; rate limits out of reach (a journey
    sends more login-flow requests from one address than the ``strict`` group allows), the
    builtin model writing at a readable pace, so a long answer can be stopped half way, and the
    mock provider for single sign-on (vouching for example.com addresses, so it links the
    accounts they name)."""
    WebApp().build()
    running = start_stack(
        tmp_path_factory.mktemp("browser") / "var",
        {
            **generous_rate_limits(),
            "CHAT_TUNING__BUILTIN_TOKEN_DELAY": "0.1",
            "AUTH_SSO_PROVIDERS": oidc_provider.providers_setting(
                link_existing_accounts=True, allowed_email_domains=["example.com"]
            ),
        },
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch the system's Chromium: Playwright's own browser download cannot work here."""
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RuntimeError("chromium is missing: run `bash scripts/ensure-chromium.sh`")
    return {**browser_type_launch_args, "executable_path": chromium, "args": ["--no-sandbox"]}


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright for this suite only, stopped when it ends (pytest-playwright's lasts the whole
    session): while its sync API runs, an event loop counts as running in the thread, and every
    asyncio test after it on the same worker would fail to start its own."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright, browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    """The system's Chromium for this suite, closed with it."""
    launched = playwright.chromium.launch(**browser_type_launch_args)
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    """Each test's browser context: the defaults (the tests open full URLs of the stack)."""
    return {}


@pytest.fixture(autouse=True)
def _interfaces_steady() -> Iterator[None]:
    """No network interface of the machine appears or goes while a browser test runs: Chromium
    would abort the requests in flight (``net::ERR_NETWORK_CHANGED``), even those to 127.0.0.1.
    The container tests' compose project waits for the test to end before it changes any."""
    with interfaces_steady():
        yield


@pytest.fixture(autouse=True)
def browser_errors(context: BrowserContext) -> Iterator[BrowserErrors]:
    """Every browser test fails on a console error or a CSP violation in its pages; a context a
    test opens itself is watched with ``browser_errors.watch``."""
    errors = BrowserErrors()
    errors.watch(context)
    yield errors
    assert errors.seen == [], "the browser reported errors:\n" + "\n".join(errors.seen)


@pytest.fixture
def stages(page: Page, request: pytest.FixtureRequest) -> Stages:
    """Screenshots of this test's stages in ``test-output/browser/<test>/``, emptied at its start
    (pytest-playwright's own output folder is emptied by every pytest run, so it keeps nothing)."""
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return Stages(page, folder)
