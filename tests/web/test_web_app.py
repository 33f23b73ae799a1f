"""The web app (``web/``): its type check, lint, unit tests (vitest) and production build pass.

One test, as the whole toolchain runs it; it is skipped in substance (a stamp check) when
``web/``'s sources are the ones that last passed, so a second run of the suite costs nothing.
"""

from __future__ import annotations

import re

import pytest

from agentbus_shared.webapp import WebApp

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_web_app_type_checks_lints_passes_its_unit_tests_and_builds() -> None:
    app = WebApp()
    app.verify()
    app.build()
    index = (app.dist / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", index)
    assert scripts, "the built page loads no script"
    assert all('src="/assets/' in tag for tag in scripts), f"inline script in the page: {scripts}"
    assert list((app.dist / "assets").glob("index-*.js")), "no hashed entry chunk"
