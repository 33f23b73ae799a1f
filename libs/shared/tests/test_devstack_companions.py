"""Dev-stack companions: stand-ins for outside systems, started before the services that use them;
and what the terminal shows: the summary block, the services' log level, no false alarms."""

from __future__ import annotations

import io
import json
import logging
import os
import urllib.request
from pathlib import Path

import pytest

from agentbus_shared import devstack, devsummary
from agentbus_shared.bus.broker import BUS_LOGGER
from agentbus_shared.logging import configure_logging
from agentbus_shared.manifest import Companion, ServiceManifest

FAKE = """
import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"webhook": os.environ.get("FAKE_WEBHOOK_URL")}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer((os.environ["HTTP_HOST"], int(os.environ["PORT"])), Handler).serve_forever()
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> devstack.DevStack:
    (tmp_path / "fake_companion.py").write_text(FAKE)
    companion = Companion(
        name="fake-payments",
        module="fake_companion",
        default_port=1,
        unless_env="FAKE_API_KEY",
        env={"FAKE_WEBHOOK_URL": "{gateway_url}/webhooks/fake"},
        provides={"FAKE_API_BASE": "{url}", "FAKE_API_KEY": "test-key"},
        health_path="/health",
        stands_in_for="Fake Payments",
    )
    services = [
        ServiceManifest(name="svc", module="svc", default_port=1, companions=(companion,)),
        ServiceManifest(name="gateway", module="gateway", default_port=1),
    ]
    monkeypatch.setattr(devstack.manifest, "discover", lambda: services)
    environ = {"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path)}
    return devstack.DevStack(
        tmp_path / "var", free_ports=True, environ=environ, progress=lambda _line: None
    )


def test_companion_starts_before_services_and_provides_their_environment(
    stack: devstack.DevStack,
) -> None:
    stack.var.mkdir()
    stack._assign_ports()
    stack._start_companions()
    try:
        stack._wait_ready(stack.companions, timeout=30)
        (companion,) = stack.companions
        with urllib.request.urlopen(f"{companion.url}/anything", timeout=5) as answer:
            seen = json.loads(answer.read())
    finally:
        stack.stop()
    gateway_url = f"http://127.0.0.1:{stack.ports['gateway']}"
    assert seen == {"webhook": f"{gateway_url}/webhooks/fake"}
    assert stack.companion_env == {"FAKE_API_BASE": companion.url, "FAKE_API_KEY": "test-key"}
    assert devsummary.summarize(stack).lines == (
        ("Web and API", gateway_url),
        ("API docs", f"{gateway_url}/docs"),
        ("Fake Payments", f"stand-in at {companion.url}"),
        ("Logs", "warnings and errors, here (--verbose for every line)"),
        ("Stop", "Ctrl-C"),
    )


def test_companion_is_skipped_when_the_real_thing_is_configured(stack: devstack.DevStack) -> None:
    stack.environ["FAKE_API_KEY"] = "live-key"
    stack.var.mkdir()
    stack._assign_ports()
    stack._start_companions()
    assert stack.companions == []
    assert stack.companion_env == {}
    assert ("Fake Payments", "real Fake Payments (FAKE_API_KEY is set)") in (
        devsummary.summarize(stack).lines
    )


def test_services_log_warnings_unless_asked_for_every_line(stack: devstack.DevStack) -> None:
    assert stack._log_level() == "WARNING"
    stack.verbose = True
    assert stack._log_level() == "INFO"
    stack.verbose, stack.log_to_files = False, True
    assert stack._log_level() == "INFO"
    stack.environ["LOG_LEVEL"] = "DEBUG"
    assert stack._log_level() == "DEBUG"


def test_summary_names_the_mail_folder_or_the_smtp_server(stack: devstack.DevStack) -> None:
    stack.ports["auth"] = 1
    mail = dict(devsummary.summarize(stack).lines)["Mail"]
    assert mail == f"{stack.var / 'mail'}/ (one .eml file per mail: codes, resets, invites)"
    stack.environ.update({"AUTH_MAIL_BACKEND": "smtp", "AUTH_SMTP_HOST": "mail.example.com"})
    assert dict(devsummary.summarize(stack).lines)["Mail"] == "sent through SMTP (mail.example.com)"


def test_an_idle_pull_restarted_by_faststream_is_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # As FastStream leaves its default logger once any broker is made without one of ours.
    monkeypatch.setattr(logging.getLogger("faststream.access.nats"), "propagate", False)
    configure_logging("demo", level="WARNING", fmt="json")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    supervisor = logging.getLogger(BUS_LOGGER)
    restarted = "Task-7 raised an exception, retrying...\nIf this behavior causes issues, ..."

    supervisor.error(restarted, exc_info=TimeoutError())
    supervisor.error(restarted, exc_info=ValueError("a real failure"))

    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["exception"].splitlines()[-1] for line in logged] == ["ValueError: a real failure"]
