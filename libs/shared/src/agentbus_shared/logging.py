"""Structured JSON logging with request and trace ids, secrets redacted.

Call :func:`configure_logging` once at process start. Everything that logs
through the standard library (uvicorn, FastStream, SQLAlchemy, httpx, Stripe) is
rendered by the same structlog pipeline. Bind per-request values with
``structlog.contextvars.bind_contextvars(request_id=...)``.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace

_SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|authorization|api_?key|kek|cookie|credential|code_hash|totp",
    re.IGNORECASE,
)
REDACTED = "[redacted]"


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of any key that names a secret, at any depth of dicts."""
    return _redact(event_dict)


def _redact(mapping: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(mapping.items()):
        if key != "event" and _SECRET_KEYS.search(str(key)) and value is not None:
            mapping[key] = REDACTED
        elif isinstance(value, MutableMapping):
            mapping[key] = _redact(dict(value))
    return mapping


def add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


def configure_logging(service: str, *, level: str = "INFO", fmt: str = "json") -> None:
    """Route structlog and the standard library through one JSON (or console) renderer."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
        redact_secrets,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_restarted_idle_pull)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    structlog.contextvars.bind_contextvars(service=service)
    # FastStream gives its logger a plain-text handler of its own; its lines go through ours.
    faststream = logging.getLogger("faststream")
    faststream.handlers.clear()
    faststream.propagate = True
    # Per-message INFO lines from the bus client and the access log drown the signal.
    for noisy in ("faststream", "faststream.access", "uvicorn.access", "nats"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _restarted_idle_pull(record: logging.LogRecord) -> bool:
    """Drop FastStream's report of a pull consumer's fetch that timed out with nothing to fetch.

    nats-py raises the built-in ``TimeoutError`` when a fetch's deadline passes between its two
    pull requests, FastStream's pull loop suppresses only ``nats.errors.TimeoutError``, and its
    supervisor restarts the loop at once: an idle consumer, logged as an error with a traceback.
    """
    failure = record.exc_info[0] if record.exc_info else None
    return not (
        failure is TimeoutError
        and record.name.startswith("faststream")
        and "raised an exception, retrying" in record.getMessage()
    )


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
