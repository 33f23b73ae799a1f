"""The deployment suite's report: the images test_containers.py built, with sizes and build times."""

from __future__ import annotations

import json
import time

import pytest

from .containers import REPORT

_STARTED = pytest.StashKey[float]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STARTED] = time.time()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the image report when this run's container tests wrote one (on any xdist worker)."""
    if not REPORT.exists() or _STARTED not in config.stash:
        return
    written = json.loads(REPORT.read_text())
    if written["written"] < config.stash[_STARTED]:
        return
    terminalreporter.write_sep("-", "images (tests/deploy/test_containers.py)")
    terminalreporter.write_line(written["report"])
