"""What the browser tests share: the errors a page reports (console errors, uncaught exceptions,
refusals by the Content-Security-Policy)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, ConsoleMessage

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
