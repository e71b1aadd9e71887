"""Which failures mean "a dependency is down, try again soon" rather than a bug.

The one answer to that question, asked by the HTTP layer (503 with Retry-After, one log line,
no traceback), by the unit of work (a write refused and rolled back) and by the consumer (the
same records tried again). A request caught
while PostgreSQL is killed meets it in more shapes than its connection errors: asyncpg's own
follow-ups on a connection that died under it ("connection is closed", "the underlying
connection is closed" from a transaction's exit, "pool is closing"), the socket's OSErrors,
errors raised while a pooled connection is taken or given back (an InternalClientError from
the reset of a connection that died mid-query, alone or raised over the error of the loss),
and errors wrapped by whoever met them first. `outage` looks through all of these.
"""

from __future__ import annotations

import errno
import socket

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError

# PostgreSQL refusing, restarting or gone, and the socket errors of reaching it.
DEPENDENCY_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # connection lost, refused, failed (SQLSTATE class 08)
    asyncpg.CannotConnectNowError,  # starting up or shutting down
    asyncpg.AdminShutdownError,  # stopped by an operator
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    ConnectionError,  # refused, reset, aborted
    TimeoutError,
    socket.gaierror,
)

# Kafka unreachable: the kernel's publisher gives up after its bound with ServiceUnavailable;
# these are the client's own errors, should one escape it.
KAFKA_DOWN: tuple[type[Exception], ...] = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
)

# SQLSTATE classes of a server that cannot be reached, is going down or starting up:
# connection exception (08), operator intervention (57: shutdown, crash, cannot connect now).
_DOWN_SQLSTATE_CLASSES = {"08", "57"}

# Socket errors that are not ConnectionErrors but say the same: nothing answers there. A bare
# OSError with no errno is asyncio's "Multiple exceptions: ..." of a connect to every address.
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EPIPE,
    errno.ESHUTDOWN,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.EHOSTDOWN,
    errno.ENETUNREACH,
    errno.ENETDOWN,
    errno.ENETRESET,
    errno.ENOTCONN,
    errno.EADDRNOTAVAIL,
}

# asyncpg tells of a connection or pool that is gone only in its InterfaceError's words.
_CLOSED_WORDS = ("connection is closed", "connection was closed", "pool is clos")

# What asyncpg's protocol says when a connection lost mid-operation is used again: by the
# reset of its release, which the campaign saw fail a read that had its rows (no error of the
# loss itself before it). Two uses of one connection at once are refused before that, by
# asyncpg's own guard, as InterfaceError "another operation is in progress": a bug, a 500.
_LOST_MID_OPERATION = "cannot switch to state"

RETRY_AFTER_SECONDS = 5
DATABASE = "its database"
EVENT_LOG = "the event log (Kafka)"


def outage(error: BaseException) -> str | None:
    """What is down when `error` says a dependency cannot be reached (`DATABASE` or
    `EVENT_LOG`), else None: a bug, answered 500 with its traceback.

    Looks at the error, at what it was raised from (`raise ... from`), at the errors in a
    group, and, for asyncpg's own errors, at the error they were raised while handling (a
    transaction's rollback, or a connection's release, after the connection died). Any other
    error raised while handling an outage is a bug of its own, and stays one.
    """
    seen: set[int] = set()
    waiting: list[BaseException] = [error]
    while waiting:
        found = waiting.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        what = _what_is_down(found)
        if what is not None:
            return what
        if isinstance(found, BaseExceptionGroup):
            waiting.extend(found.exceptions)
        if found.__cause__ is not None:
            waiting.append(found.__cause__)
        if found.__context__ is not None and _from_the_driver(found):
            waiting.append(found.__context__)
    return None


def _from_the_driver(error: BaseException) -> bool:
    # asyncpg's errors while cleaning up after a failure: a rollback on the dead connection,
    # or the reset of its release ("cannot switch to state 15; another operation is in
    # progress", an InternalClientError) raised over the error that tells the outage.
    return type(error).__module__.split(".")[0] == "asyncpg"


def _what_is_down(error: BaseException) -> str | None:
    if isinstance(error, KAFKA_DOWN):
        return EVENT_LOG
    if isinstance(error, DEPENDENCY_DOWN):
        return DATABASE
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = str(getattr(error, "sqlstate", "") or "")
        return DATABASE if sqlstate[:2] in _DOWN_SQLSTATE_CLASSES else None
    if isinstance(error, asyncpg.InternalClientError) and _LOST_MID_OPERATION in str(error):
        return DATABASE
    if isinstance(error, asyncpg.InterfaceError) and not isinstance(error, asyncpg.DataError):
        message = str(error)
        return DATABASE if any(words in message for words in _CLOSED_WORDS) else None
    if isinstance(error, OSError) and (
        error.errno in _NETWORK_ERRNOS
        or (error.errno is None and str(error).startswith("Multiple exceptions"))
    ):
        return DATABASE
    return None
