"""Waiting in tests for what happens asynchronously: one poll, one mail sink reader.

``eventually`` polls a check until it returns something truthy and returns that value, or fails
with what it waited for and the last value seen; a check that raises one of the ``ignoring``
exceptions is not there yet (a failure then names the exception). ``eventually_blocking`` is the
same for synchronous tests (the e2e, fault and contract suites drive a stack with a blocking
client); an async test polls a blocking check with ``eventually(in_thread(check))``.
``MailSink`` reads the file mail transport's directory (``<var>/mail`` of a dev stack, the auth
tests' mail path): a message is found by recipient and template, a code or an invite token is
read from it.
"""

from __future__ import annotations

import asyncio
import email
import inspect
import re
import time
from collections.abc import Awaitable, Callable
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar, overload

T = TypeVar("T")

TIMEOUT = 30.0
INTERVAL = 0.05


Errors = tuple[type[Exception], ...]
"""Exceptions a check may raise while what it waits for is not there yet."""


def _failure(what: str, timeout: float, last: object) -> AssertionError:
    failure = AssertionError(f"{what}: not met in {timeout:g}s (last value: {last!r})")
    if isinstance(last, BaseException):
        failure.__cause__ = last
    return failure


@overload
async def eventually(
    check: Callable[[], Awaitable[T | None]],
    *,
    what: str = ...,
    timeout: float = ...,
    interval: float = ...,
    ignoring: Errors = ...,
) -> T: ...


@overload
async def eventually(
    check: Callable[[], T | None],
    *,
    what: str = ...,
    timeout: float = ...,
    interval: float = ...,
    ignoring: Errors = ...,
) -> T: ...


async def eventually(
    check: Callable[[], Any],
    *,
    what: str = "condition",
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    ignoring: Errors = (),
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; return that value.
    A check raising one of ``ignoring`` counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        last: Any
        try:
            value = check()
            last = await value if inspect.isawaitable(value) else value
        except ignoring as error:
            last = error
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise _failure(what, timeout, last)
        await asyncio.sleep(interval)


def eventually_blocking(
    check: Callable[[], T | None],
    *,
    what: str = "condition",
    timeout: float = TIMEOUT,
    interval: float = INTERVAL,
    ignoring: Errors = (),
) -> T:
    """:func:`eventually` for synchronous tests: blocks the thread between polls."""
    deadline = time.monotonic() + timeout
    while True:
        last: T | Exception | None
        try:
            last = check()
        except ignoring as error:
            last = error
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise _failure(what, timeout, last)
        time.sleep(interval)


def in_thread(check: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """A blocking ``check`` (psql, a blocking HTTP client) run in a worker thread, for
    :func:`eventually` in an async test: the loop's other tasks go on meanwhile."""
    return lambda: asyncio.to_thread(check)


def in_previous_totp_step(step: float = 30.0, margin: float = 5.0) -> float:
    """A moment of the TOTP step before the current one, for a code a service accepts once.

    When the current step ends within ``margin`` seconds this waits for it to end first, so
    the code is still inside the service's window (one step either side) when it is checked.
    """
    left = step - time.time() % step
    if left < margin:
        time.sleep(left)
    return time.time() - step


def code_in(message: Message) -> str:
    """The one-time code a mail carries (verify email, reset password, change email)."""
    return _field(message, "Code")


def invite_token_in(message: Message) -> str:
    """The invite token an invite mail carries (only the invited mailbox receives it)."""
    return _field(message, "Invite token")


def link_in(message: Message) -> str:
    """The first link a mail carries (a signup invite's register link)."""
    body = _body(message)
    match = re.search(r"https?://\S+", body)
    assert match, f"no link in: {body}"
    return match.group(0)


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes), message
    return payload.decode()


def _field(message: Message, label: str) -> str:
    body = _body(message)
    match = re.search(rf"{label}: (\S+)", body)
    assert match, f"no {label.lower()} in: {body}"
    return match.group(1)


class MailSink:
    """The messages the file mail transport wrote to ``directory`` (one ``.eml`` per message)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self, to: str, template: str) -> list[Message]:
        """Every ``template`` message to ``to`` so far, oldest first."""
        if not self.directory.exists():
            return []
        found = (
            email.message_from_bytes(path.read_bytes())
            for path in sorted(self.directory.glob(f"*-{template}-*.eml"))
        )
        return [message for message in found if message["To"] == to]

    def _nth(self, to: str, template: str, count: int) -> Callable[[], Message | None]:
        def check() -> Message | None:
            found = self.messages(to, template)
            return found[count - 1] if len(found) >= count else None

        return check

    async def wait(
        self, to: str, template: str, *, count: int = 1, timeout: float = TIMEOUT
    ) -> Message:
        """The ``count``-th ``template`` message to ``to``; waits for it to arrive."""
        return await eventually(
            self._nth(to, template, count),
            what=f"{count} {template} mail(s) to {to}",
            timeout=timeout,
        )

    def wait_blocking(
        self, to: str, template: str, *, count: int = 1, timeout: float = TIMEOUT
    ) -> Message:
        """:meth:`wait` for synchronous tests."""
        return eventually_blocking(
            self._nth(to, template, count),
            what=f"{count} {template} mail(s) to {to}",
            timeout=timeout,
        )

    async def mailed_code(self, to: str, template: str, *, count: int = 1) -> str:
        """The code in the ``count``-th ``template`` message to ``to``."""
        return code_in(await self.wait(to, template, count=count))

    def mailed_code_blocking(self, to: str, template: str, *, count: int = 1) -> str:
        """:meth:`mailed_code` for synchronous tests."""
        return code_in(self.wait_blocking(to, template, count=count))

    async def mailed_invite(self, to: str, *, count: int = 1) -> str:
        """The token in the ``count``-th invite mail to ``to``."""
        return invite_token_in(await self.wait(to, "invite", count=count))

    def mailed_invite_blocking(self, to: str, *, count: int = 1) -> str:
        """:meth:`mailed_invite` for synchronous tests."""
        return invite_token_in(self.wait_blocking(to, "invite", count=count))

    async def mailed_link(self, to: str, template: str, *, count: int = 1) -> str:
        """The link in the ``count``-th ``template`` message to ``to``."""
        return link_in(await self.wait(to, template, count=count))

    def mailed_link_blocking(self, to: str, template: str, *, count: int = 1) -> str:
        """:meth:`mailed_link` for synchronous tests."""
        return link_in(self.wait_blocking(to, template, count=count))
