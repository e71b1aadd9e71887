"""Issue 14, leftover (a): a request caught while PostgreSQL is killed answers 503 with
Retry-After (JSON, or a page for browsers) in one log line, in whatever shape the outage
reaches it: asyncpg's follow-ups on a dead connection, socket errors that are no
ConnectionError, a connection's failed reset on its way back to the pool, errors wrapped or
grouped by whoever met them first, and writes through the unit of work. Bugs stay 500.

On an app of its own (no infrastructure); the unit of work runs on a pool that fails the way
asyncpg's does. The campaign's PostgreSQL kill caught the release case twice: a write, and then
a read (`GET /v1/badges`) that had its rows, answered 500 with `InternalClientError: cannot
switch to state 15; another operation (2) is in progress` from the connection's reset.
"""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import Depends, FastAPI

from services.kernel.entrypoint import add_write_unavailable
from services.kernel.handlers import Handlers
from services.kernel.http import new_app
from services.kernel.publisher import WriteUnavailable
from services.kernel.unit_of_work import UnitOfWork, run_unit_of_work
from services.kernel.web.outages import DATABASE, EVENT_LOG, outage

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def _lost() -> asyncpg.ConnectionDoesNotExistError:
    return asyncpg.ConnectionDoesNotExistError(
        "connection was closed in the middle of operation: terminating connection due to "
        "unexpected postmaster exit"
    )


def _raised_while_handling(first: BaseException, then: BaseException) -> BaseException:
    """`then` as Python leaves it when raised in an `except` (or a cleanup) of `first`."""
    try:
        try:
            raise first
        except BaseException:
            raise then  # noqa: B904 (no `from`: Python keeps `first` as its __context__)
    except BaseException as raised:
        return raised


class _Wrapped(Exception):
    """A module's own error, raised from the outage it met."""


def _wrapped(error: BaseException) -> BaseException:
    try:
        raise _Wrapped("could not load the badge") from error
    except _Wrapped as raised:
        return raised


# Each: how a request caught mid-kill can fail, none of them a ConnectionError or one of
# asyncpg's connection errors, so each answered 500 before.
OUTAGES: dict[str, Callable[[], BaseException]] = {
    "a closed connection": lambda: asyncpg.InterfaceError("connection is closed"),
    "a transaction's exit on a dead connection": lambda: _raised_while_handling(
        _lost(),
        asyncpg.InterfaceError(
            "cannot call Transaction.__aexit__(): the underlying connection is closed"
        ),
    ),
    "a pool closing": lambda: asyncpg.InterfaceError("pool is closing"),
    "a failed reset on release": lambda: _raised_while_handling(
        _lost(),
        asyncpg.InternalClientError(
            "cannot switch to state 15; another operation (2) is in progress"
        ),
    ),
    "a read's release after the kill": lambda: asyncpg.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    ),
    "no route to the host": lambda: OSError(errno.EHOSTUNREACH, "No route to host"),
    "every address refused": lambda: OSError(
        "Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 5433), "
        "[Errno 99] Cannot assign requested address"
    ),
    "the database dropped": lambda: asyncpg.exceptions.DatabaseDroppedError("gone"),
    "wrapped by a module": lambda: _wrapped(_lost()),
    "in a group": lambda: ExceptionGroup("tasks failed", [ConnectionResetError(104, "reset")]),
}

BUGS: dict[str, Callable[[], BaseException]] = {
    "two operations on one connection": lambda: asyncpg.InterfaceError(
        "cannot perform operation: another operation is in progress"
    ),
    "a bug while handling an outage": lambda: _raised_while_handling(_lost(), KeyError("x")),
    "a missing file": lambda: FileNotFoundError(errno.ENOENT, "No such file", "/blobs/x"),
    "the client's own error alone": lambda: asyncpg.InternalClientError("unexpected"),
    "a syntax error": lambda: asyncpg.PostgresSyntaxError("syntax error at or near"),
}


def test_each_shape_of_an_outage_is_told_and_bugs_are_not() -> None:
    for name, make in OUTAGES.items():
        assert outage(make()) == DATABASE, name
    for name, make in BUGS.items():
        assert outage(make()) is None, name
    from aiokafka.errors import KafkaConnectionError

    assert outage(_wrapped(KafkaConnectionError("no broker"))) == EVENT_LOG


def _app() -> FastAPI:
    app = new_app("Sample service", "A service for the tests.")
    add_write_unavailable(app)

    @app.get("/fails/{name}")
    async def fails(name: str) -> None:
        raise (OUTAGES | BUGS)[name]()

    async def key_check() -> None:
        # The organiser's key is read before the route runs: a dependency meets it first.
        raise asyncpg.InterfaceError("connection is closed")

    @app.get("/checked", dependencies=[Depends(key_check)])
    async def checked() -> None:
        return None

    @app.post("/write/{name}")
    async def write(name: str) -> dict[str, str]:
        return {"done": str(await run_unit_of_work(*_failing_store(name), _work))}  # type: ignore[arg-type]

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sample.test") as found:
        yield found


def _is_page(answer: httpx.Response) -> bool:
    return answer.headers["content-type"].startswith("text/html") and (
        "<!doctype html>" in answer.text.lower()
    )


async def _assert_503(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        answer = await client.request(method, path, headers=JSON)
    assert answer.status_code == 503, (path, answer.text)
    assert int(answer.headers["retry-after"]) > 0
    assert "try again" in answer.json()["error"]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is None, [r.getMessage() for r in errors]
    page = await client.request(method, path, headers=PAGE)
    assert page.status_code == 503 and _is_page(page) and "try again" in page.text.lower()
    assert page.headers["retry-after"] == answer.headers["retry-after"]


@pytest.mark.parametrize("name", list(OUTAGES))
async def test_an_outage_in_any_shape_is_503_with_retry_after_in_one_line(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    await _assert_503(client, caplog, "GET", f"/fails/{name}")


async def test_an_outage_met_by_a_dependency_is_503(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    await _assert_503(client, caplog, "GET", "/checked")


@pytest.mark.parametrize("name", list(BUGS))
async def test_a_bug_stays_a_500_with_its_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    with caplog.at_level(logging.ERROR, logger="services.kernel.http"):
        answer = await client.get(f"/fails/{name}", headers=JSON)
    assert answer.status_code == 500
    assert [r.exc_info is not None for r in caplog.records] == [True]


# -- writes: the unit of work on a pool that fails as asyncpg's does ---------------------------


class _Transaction:
    def __init__(self, conn: _Connection) -> None:
        self.conn = conn

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        if kind is not None and self.conn.dead:
            # asyncpg's Transaction.__aexit__ on a connection that died under the work.
            raise asyncpg.InterfaceError(
                "cannot call Transaction.__aexit__(): the underlying connection is closed"
            )
        self.conn.committed = kind is None


class _Connection:
    def __init__(self, dies_in_work: bool) -> None:
        self.dies_in_work = dies_in_work
        self.dead = False
        self.committed = False

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    async def execute(self, sql: str, *args: Any) -> str:
        if self.dies_in_work and not sql.startswith("SET LOCAL"):
            self.dead = True
            raise _lost()
        return "OK"

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.execute(sql, *args)


class _Pool:
    """Hands out one connection; its release fails as asyncpg's reset of a connection that
    died mid-operation does (asyncpg closes it then)."""

    def __init__(self, conn: _Connection, release_fails: bool) -> None:
        self.conn = conn
        self.release_fails = release_fails
        self.released = 0

    async def acquire(self, timeout: float | None = None) -> _Connection:
        return self.conn

    async def release(self, conn: _Connection) -> None:
        self.released += 1
        if self.release_fails:
            raise asyncpg.InternalClientError(
                "cannot switch to state 15; another operation (2) is in progress"
            )


class _Publisher:
    write_timeout = 3.0

    def check_reachable(self) -> None:
        return None

    def recently_appended(self, event_id: uuid.UUID) -> None:
        return None

    async def append(self, *_: Any) -> None:
        return None


STORES: dict[str, tuple[bool, bool]] = {  # name -> (dies in the work, release fails)
    "dies-mid-work": (True, False),
    "dies-mid-work-and-release-fails": (True, True),
}
POOLS: dict[str, _Pool] = {}


def _failing_store(name: str) -> tuple[_Pool, _Publisher, Handlers, str]:
    dies, release_fails = STORES[name]
    POOLS[name] = _Pool(_Connection(dies), release_fails)
    return POOLS[name], _Publisher(), Handlers(), "badge.events"


async def _work(uow: UnitOfWork) -> str:
    await uow.conn.execute("UPDATE offers SET status = 'sent'")
    return "written"


@pytest.mark.parametrize("name", list(STORES))
async def test_a_write_caught_by_the_kill_is_refused_with_503(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    await _assert_503(client, caplog, "POST", f"/write/{name}")
    assert POOLS[name].released == 1 and not POOLS[name].conn.committed


async def test_a_committed_write_stands_when_its_connection_dies_on_the_way_back() -> None:
    pool = _Pool(_Connection(dies_in_work=False), release_fails=True)
    done = await run_unit_of_work(pool, _Publisher(), Handlers(), "badge.events", _work)  # type: ignore[arg-type]
    assert done == "written" and pool.conn.committed and pool.released == 1


async def test_a_write_refused_for_the_database_rolls_back() -> None:
    pool = _Pool(_Connection(dies_in_work=True), release_fails=True)
    with pytest.raises(WriteUnavailable, match="database"):
        await run_unit_of_work(pool, _Publisher(), Handlers(), "badge.events", _work)  # type: ignore[arg-type]
    assert not pool.conn.committed and pool.released == 1
