"""HTTP exchanges under a fault: each request's answer (or the transport error instead), and what
a failed one must look like — a problem document with ``Retry-After``, not a reset or a hang."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

PROBLEM = "application/problem+json"


@dataclass
class Answer:
    """One HTTP exchange under load: its status, or the transport error instead of an answer."""

    label: str
    status: int | None
    headers: dict[str, str]
    body: Any
    error: str | None = None
    seconds: float = 0.0


async def send(
    client: httpx.AsyncClient, label: str, method: str, url: str, **kwargs: Any
) -> Answer:
    """Send one request; its :class:`Answer` (a transport error is recorded, not raised)."""
    started = time.monotonic()
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        return Answer(
            label, None, {}, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started
        )
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return Answer(
        label,
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        body,
        seconds=time.monotonic() - started,
    )


def assert_error_answer(answer: Answer, allowed: tuple[int, ...] = (503, 504)) -> None:
    """A failed request under a fault is a problem document saying when to come back."""
    assert answer.status in allowed, answer
    assert answer.headers.get("content-type", "").startswith(PROBLEM), answer
    assert int(answer.headers["retry-after"]) >= 0, answer
    assert isinstance(answer.body, dict), answer
    assert answer.body["status"] == answer.status, answer
    assert "Traceback" not in json.dumps(answer.body), answer


def retry_delay(answer: Answer) -> float:
    """What a polite client waits after a 503/504: Retry-After, capped for a short test."""
    try:
        return min(float(answer.headers.get("retry-after", "0.2")), 0.5)
    except ValueError:
        return 0.2
