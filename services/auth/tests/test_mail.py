"""The mailer: a real SMTP conversation (aiosmtpd), one file per message in development."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from auth_support import AuthClient, ClientFor, StartAuth

from agentbus_auth.mail.templates import render
from agentbus_auth.mail.transports import FileTransport, SmtpTransport
from agentbus_shared.errors import PermanentFailure
from agentbus_shared.servers import free_port
from agentbus_shared.testing.waiting import code_in, eventually


class Inbox:
    """An SMTP server's handler that keeps what it receives and refuses one address."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("bounce@"):
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content or b""))
        return "250 Message accepted for delivery"

    def first_to(self, to: str) -> email.message.Message | None:
        return next((message for message in self.messages if message["To"] == to), None)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def message(to: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Agentbus <no-reply@agentbus.localhost>"
    msg["To"] = to
    msg["Subject"] = "hello"
    msg["X-Agentbus-Template"] = "security_alert"
    msg.set_content("body")
    return msg


async def test_verification_mail_goes_out_over_smtp(
    start_auth: StartAuth, client_for: ClientFor, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    client = client_for(await start_auth(mail_backend="smtp", smtp_port=port, smtp_security="none"))
    account = await client.register(display_name="Hedy")
    received = await eventually(
        lambda: inbox.first_to(account.email), what=f"mail to {account.email}"
    )
    assert received["Subject"] == "Your Agentbus verification code"
    assert received["From"] == "Agentbus <no-reply@agentbus.localhost>"
    assert received["Message-ID"]
    body = received.get_payload(decode=True).decode()
    assert "Hello Hedy" in body
    await client.call("email.verify", {"code": code_in(received)}, token=account.access_token)
    assert (await client.call("me", token=account.access_token)).data["user"]["email_verified"]


async def test_a_refused_recipient_is_a_permanent_failure(smtp_server: tuple[Inbox, int]) -> None:
    _, port = smtp_server
    transport = SmtpTransport(
        host="127.0.0.1", port=port, security="none", username=None, password=None, timeout=5
    )
    with pytest.raises(PermanentFailure):
        await transport.send(message("bounce@example.com"), name="evt_1")


async def test_an_unreachable_server_fails_for_a_retry() -> None:
    transport = SmtpTransport(
        host="127.0.0.1", port=free_port(), security="none", username=None, password=None, timeout=2
    )
    with pytest.raises(Exception) as caught:
        await transport.send(message("someone@example.com"), name="evt_1")
    assert not isinstance(caught.value, PermanentFailure)


async def test_file_transport_writes_one_file_per_message_once(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path / "mail")
    await transport.send(message("a@example.com"), name="evt_1")
    await transport.send(message("a@example.com"), name="evt_1")  # a redelivery
    await transport.send(message("b@example.com"), name="evt_2")
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    assert files[0].name.endswith("-security_alert-evt_1.eml")
    assert email.message_from_bytes(files[1].read_bytes())["To"] == "b@example.com"
    assert not list((tmp_path / "mail").glob("*.part"))


async def test_mail_for_every_template_renders_without_placeholders(client: AuthClient) -> None:
    owner = await client.register_verified(display_name="Grace")
    await client.call("password.forgot", {"email": owner.email})
    await client.call(
        "tenants.invites.create",
        {"email": "joiner@example.com", "role": "member"},
        token=owner.access_token,
    )
    await client.call(
        "password.change",
        {"current_password": client.password, "new_password": client.other_password},
        token=owner.access_token,
    )
    member = await client.join(owner, "member")
    await client.call("password.admin_reset", {"user_id": member.user_id}, token=owner.access_token)
    for to, template in [
        (owner.email, "verify_email"),
        (owner.email, "password_reset"),
        ("joiner@example.com", "invite"),
        (owner.email, "security_alert"),
        (member.email, "password_reset_by_admin"),
    ]:
        mail = await client.mail.wait(to, template)
        body = mail.get_payload(decode=True).decode()
        assert "$" not in body + mail["Subject"], (template, body)
    invite_body = (await client.mail.wait("joiner@example.com", "invite")).get_payload(decode=True)
    token = await client.mail.mailed_invite("joiner@example.com")
    assert f"http://127.0.0.1:8000/invite?token={token}" in invite_body.decode()


def test_the_team_named_in_an_admins_reset_is_quoted_on_one_line() -> None:
    rendered = render(
        "password_reset_by_admin",
        {"name": "Ada", "tenant_name": 'Acme\nSubject: "urgent"', "expires_in": "15 minutes"},
    )
    assert "Team name: \"Acme Subject: 'urgent'\"" in rendered.body
    assert "Acme" not in rendered.subject
