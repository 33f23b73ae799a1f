"""Where messages go: an SMTP server (aiosmtplib), or files for development and tests."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from agentbus_shared.errors import PermanentFailure


class MailTransport(Protocol):
    async def send(self, message: EmailMessage, *, name: str) -> None:
        """Deliver ``message``; ``name`` is unique per message (its event id)."""


class FileTransport:
    """One ``.eml`` file per message under ``directory`` (the dev stack's ``var/mail/``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage, *, name: str) -> None:
        await asyncio.to_thread(self._write, message, name)

    def _write(self, message: EmailMessage, name: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        template = message.get("X-Agentbus-Template", "mail")
        final = self.directory / f"{stamp}-{template}-{name}.eml"
        if any(self.directory.glob(f"*-{name}.eml")):
            return  # a redelivery of a message already written
        partial = final.with_suffix(".part")
        partial.write_bytes(bytes(message))
        os.replace(partial, final)


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str,
        username: str | None,
        password: str | None,
        timeout: float,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout

    async def send(self, message: EmailMessage, *, name: str) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # The address will not work on a retry either.
            raise PermanentFailure("The mail server refused the recipient.") from exc
