"""One way to make a NATS broker: from settings, with credentials, TLS and sane reconnects."""

from __future__ import annotations

import logging
import ssl
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from faststream.nats.security import NatsCredentials, NatsSecurity, NatsUserPassword

from agentbus_shared.contracts import subjects
from agentbus_shared.logging import get_logger
from agentbus_shared.settings import ServiceSettings

log = get_logger(__name__)


BUS_LOGGER = "faststream.agentbus"
"""The logger every broker of ours writes to (a child of ``faststream``: its level applies)."""


def make_broker(settings: ServiceSettings, *, name: str, **extra: Any) -> NatsBroker:
    """A ``NatsBroker`` for the process ``name`` (shown to the server as the client name).

    Its replies arrive on ``_INBOX_<name>`` (every request, JetStream API call and pull
    subscription of the connection uses that prefix): the service's bus user may subscribe only
    there, so no other service reads its replies.

    Reconnects forever with a short wait: a restart of nats-server must not
    take a service down. Credentials come from ``NATS_CREDS_FILE`` or
    ``NATS_USER``/``NATS_PASSWORD`` (which win over any in ``NATS_URL``), else from
    ``NATS_URL`` (``nats://user:password@host:4222``); TLS from ``NATS_TLS_CA_FILE``.
    """
    broker: NatsBroker | None = None

    async def log_disconnected() -> None:
        # nats-py reports the broker's own close at shutdown as a disconnect too.
        if broker is None or not _closed(broker):
            log.warning("nats.disconnected")

    options: dict[str, Any] = {
        "name": f"agentbus-{name}",
        "inbox_prefix": subjects.inbox_prefix(name),
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 5,
        "allow_reconnect": True,
        "ping_interval": 20,
        "max_outstanding_pings": 3,
        "error_cb": _log_error,
        "disconnected_cb": log_disconnected,
        "reconnected_cb": _log_reconnected,
    }
    tls = (
        ssl.create_default_context(cafile=settings.nats_tls_ca_file)
        if settings.nats_tls_ca_file
        else None
    )
    security: NatsSecurity | None = None
    if settings.nats_creds_file:
        security = NatsCredentials(settings.nats_creds_file, ssl_context=tls)
    elif settings.nats_user:
        password = settings.nats_password.get_secret_value() if settings.nats_password else ""
        security = NatsUserPassword(settings.nats_user, password, ssl_context=tls)
    elif tls is not None:
        security = NatsSecurity(ssl_context=tls)
    options.update(extra)
    url = settings.nats_url if security is None else without_credentials(settings.nats_url)
    # A standard logger of our own under "faststream": its lines go through our pipeline.
    # FastStream's default (faststream.access.nats) sends plain text to stdout and stops
    # propagating as soon as any broker is made without a logger, so it is not reused here.
    logger = logging.getLogger(BUS_LOGGER)
    broker = NatsBroker(url, security=security, logger=logger, log_level=0, **options)
    return broker


def without_credentials(urls: str) -> str:
    """``NATS_URL`` (one server or several, comma-separated) with any user and password removed."""
    return ",".join(_server_without_credentials(url.strip()) for url in urls.split(","))


def _server_without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


async def _log_error(error: Exception) -> None:
    log.warning("nats.error", error=str(error))


def _closed(broker: NatsBroker) -> bool:
    try:
        return broker.connection.is_closed
    except IncorrectState:  # no connection any more
        return True


async def _log_reconnected() -> None:
    log.info("nats.reconnected")
