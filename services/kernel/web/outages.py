"""Which failures mean "a dependency is down, try again soon" rather than a bug."""

from __future__ import annotations

import socket

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError

# PostgreSQL refusing, restarting or gone, and the socket errors of reaching it. These are
# answered 503 with Retry-After, in one log line, never as a 500 with a traceback.
DEPENDENCY_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # connection lost, refused, failed
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

RETRY_AFTER_SECONDS = 5


def what_is_down(error: Exception) -> str:
    return "the event log (Kafka)" if isinstance(error, KAFKA_DOWN) else "its database"
