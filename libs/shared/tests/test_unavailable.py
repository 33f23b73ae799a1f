"""Outages of PostgreSQL and Redis are recognised however the drivers wrap them."""

from __future__ import annotations

import asyncio
import errno

import asyncpg
import pytest
import redis.exceptions
import sqlalchemy.exc

from agentbus_shared.unavailable import (
    DEPENDENCY_UNAVAILABLE,
    as_unavailable,
    is_dependency_unavailable,
)


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        OSError(errno.ECONNREFUSED, "Connect call failed"),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        redis.exceptions.ConnectionError("Error 111 connecting"),
        redis.exceptions.TimeoutError("Timeout connecting"),
        _chained(
            sqlalchemy.exc.DBAPIError("SELECT 1", None, Exception("wrapped")),
            asyncpg.exceptions.AdminShutdownError("terminating connection"),
        ),
        _chained(RuntimeError("while saving"), ConnectionResetError()),
    ],
)
def test_outages_are_recognised_through_the_chain(exc: BaseException) -> None:
    assert is_dependency_unavailable(exc)
    error = as_unavailable(exc)
    assert error is not None
    assert (error.status, error.code, error.retry_after) == (503, DEPENDENCY_UNAVAILABLE, 2)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        redis.exceptions.ResponseError("WRONGTYPE"),
        KeyError("x"),
        asyncio.CancelledError(),
    ],
)
def test_ordinary_errors_are_not_outages(exc: BaseException) -> None:
    assert as_unavailable(exc) is None
