"""Dev-stack companions: stand-ins for outside systems, started before the services that use them."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from agentbus_shared import devstack
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


def test_companion_is_skipped_when_the_real_thing_is_configured(stack: devstack.DevStack) -> None:
    stack.environ["FAKE_API_KEY"] = "live-key"
    stack.var.mkdir()
    stack._assign_ports()
    stack._start_companions()
    assert stack.companions == []
    assert stack.companion_env == {}
