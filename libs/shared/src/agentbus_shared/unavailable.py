"""Recognise "a dependency is away" (PostgreSQL, Redis down or restarting) among exceptions.

A service whose database or Redis is unreachable must answer 503 with ``Retry-After`` — the
caller may try again shortly — rather than 500 with a crash in the log. The drivers report an
outage in many shapes (``ConnectionRefusedError`` from the socket, asyncpg's connection and
shutdown errors, SQLAlchemy's wrappers around them, redis-py's ``ConnectionError``); this
module looks through the whole ``__cause__``/``__context__`` chain for one of them.
"""

from __future__ import annotations

import asyncio
import errno

from agentbus_shared.errors import ServiceUnavailable

DEPENDENCY_UNAVAILABLE = "dependency_unavailable"

# errno values of a peer that is not there (or went away mid-request).
_GONE_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
    }
)

# asyncpg class names (by name: importing the driver here would tie the shared library to it).
_ASYNCPG_GONE = frozenset(
    {
        "ConnectionDoesNotExistError",  # the connection was closed under us
        "PostgresConnectionError",  # SQLSTATE class 08
        "ConnectionFailureError",
        "ClientCannotConnectError",
        "CannotConnectNowError",  # 57P03: starting up or shutting down
        "AdminShutdownError",  # 57P01: fast shutdown terminated the session
        "CrashShutdownError",  # 57P02
        "TooManyConnectionsError",
    }
)


class DependencyUnavailable(ServiceUnavailable):
    code = DEPENDENCY_UNAVAILABLE
    title = "Dependency unavailable"
    default_message = "A backing service is unavailable; try again shortly."


def _one_is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionError):  # ConnectionRefusedError, ConnectionResetError, ...
        return True
    if isinstance(exc, OSError) and exc.errno in _GONE_ERRNOS:
        return True
    module = type(exc).__module__
    names = {cls.__name__ for cls in type(exc).__mro__}
    return (
        (module.startswith("asyncpg") and bool(names & _ASYNCPG_GONE))
        or (module.startswith("redis") and bool(names & {"ConnectionError", "TimeoutError"}))
        # SQLAlchemy: a DBAPI error raised on a connection it then found dead, or the pool's
        # wait for a connection running out while the server is away.
        or (
            module.startswith("sqlalchemy")
            and (
                bool(getattr(exc, "connection_invalidated", False))
                or ("TimeoutError" in names and "pool" in module)
            )
        )
    )


def is_dependency_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or anything in its cause chain) says a backing server is unreachable."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _one_is_unavailable(current):
            return True
        # SQLAlchemy keeps the driver's exception on .orig as well as in the chain.
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and id(orig) not in seen and _one_is_unavailable(orig):
            return True
        current = current.__cause__ or current.__context__
    return False


def as_unavailable(exc: BaseException, *, retry_after: int = 2) -> DependencyUnavailable | None:
    """The 503 to answer instead of ``exc``, or ``None`` when ``exc`` is not an outage."""
    if isinstance(exc, asyncio.CancelledError):
        return None
    if is_dependency_unavailable(exc):
        return DependencyUnavailable(retry_after=retry_after)
    return None
