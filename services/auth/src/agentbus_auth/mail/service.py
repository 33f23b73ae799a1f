"""The mailer: turns an ``email.requested`` event into a message and hands it to a transport.

Secrets are not on the bus: the event names the code or invite (``secret_ref``)
and the mailer derives its value with the code key, which only auth holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from agentbus_auth.codes.repository import Purpose
from agentbus_auth.codes.service import OneTimeCodes
from agentbus_auth.crypto import CodeKey
from agentbus_auth.mail import repository as repo
from agentbus_auth.mail.templates import render
from agentbus_auth.mail.transports import MailTransport
from agentbus_auth.signup.invites import register_link, signup_invite_token
from agentbus_auth.tenants.invites import invite_token
from agentbus_shared.contracts.auth import EmailRequested
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.db import Database
from agentbus_shared.errors import PermanentFailure

_CODE_PURPOSES: dict[str, Purpose] = {
    "verify_email": Purpose.VERIFY_EMAIL,
    "password_reset": Purpose.PASSWORD_RESET,
    "password_reset_by_admin": Purpose.PASSWORD_RESET,
    "password_reset_by_support": Purpose.PASSWORD_RESET,
    "email_change": Purpose.EMAIL_CHANGE,
}
"""The templates that carry a one-time code, and what the code proves."""


class Mailer:
    def __init__(
        self,
        db: Database,
        transport: MailTransport,
        codes: OneTimeCodes,
        code_key: CodeKey,
        *,
        sender: str,
        product: str,
        public_url: str,
    ) -> None:
        self._db = db
        self.transport = transport
        self._codes = codes
        self._code_key = code_key
        self._sender = sender
        self._product = product
        self._public_url = public_url.rstrip("/")

    def compose(self, event: CloudEvent[EmailRequested]) -> EmailMessage:
        request = event.data
        variables = {"product": self._product, "name": "there", **request.variables}
        variables.update(self._secrets(request))
        rendered = render(request.template, variables)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = request.to
        message["Subject"] = rendered.subject
        message["Date"] = format_datetime(datetime.now(UTC))
        message["Message-ID"] = make_msgid(idstring=event.id, domain="agentbus")
        message["X-Agentbus-Template"] = request.template
        message["X-Agentbus-Event-Id"] = event.id
        message.set_content(rendered.body)
        return message

    def _secrets(self, request: EmailRequested) -> dict[str, str]:
        purpose = _CODE_PURPOSES.get(request.template)
        if purpose is not None:
            if not request.secret_ref:
                raise PermanentFailure(f"A {request.template} message needs its code reference.")
            return {"code": self._codes.code_for(purpose, request.secret_ref)}
        if request.template == "invite":
            if not request.secret_ref:
                raise PermanentFailure("An invite message needs its invite reference.")
            token = invite_token(self._code_key, request.secret_ref)
            return {"token": token, "link": f"{self._public_url}/invite?token={token}"}
        if request.template == "signup_invite":
            if not request.secret_ref:
                raise PermanentFailure("A signup invite message needs its invite reference.")
            token = signup_invite_token(self._code_key, request.secret_ref)
            return {"token": token, "link": register_link(self._public_url, token, request.to)}
        return {}

    async def deliver(self, event: CloudEvent[EmailRequested], *, consumer: str) -> None:
        """Send the message of ``event`` unless ``consumer`` has sent it already.

        Sending cannot join a transaction: it is marked sent after sending. A crash in between
        sends the message again (at least once); the Message-ID lets mail clients dedupe.
        """
        async with self._db.session() as session:
            if await repo.was_sent(session, consumer, event.id):
                return
        await self.transport.send(self.compose(event), name=event.id)
        async with self._db.transaction() as session:
            await repo.mark_sent(session, consumer, event.id)
