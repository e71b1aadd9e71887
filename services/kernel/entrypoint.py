"""The command line every service shares: `serve`, `rebuild`, `checksum`, `verify`,
`decide-again`, plus its own extras; and the health endpoints every service answers."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.kernel import logs, metrics
from services.kernel.parent import parent_gone
from services.kernel.publisher import WriteUnavailable
from services.kernel.runtime import ServiceRuntime
from services.kernel.web.answers import error_answer
from services.kernel.web.metrics import add_metrics

log = logging.getLogger(__name__)

ExtraCommand = Callable[[ServiceRuntime, argparse.Namespace], Awaitable[int]]


def add_health(app: FastAPI, runtime: ServiceRuntime) -> None:
    """`/health/live` says the process answers; `/health/ready` (and `/health`, for the
    callers that know only it) says whether it can do its work: 503 when it cannot."""

    @app.get("/health/live", tags=["operations"], summary="Liveness: the process answers")
    async def live() -> JSONResponse:
        return JSONResponse({"service": runtime.spec.name, "status": "alive"})

    async def ready() -> JSONResponse:
        is_ready, body = await runtime.readiness()
        return JSONResponse(body, status_code=200 if is_ready else 503)

    summary = "Readiness: Kafka, PostgreSQL and the consumer (lag, last applied offset)"
    app.add_api_route("/health/ready", ready, methods=["GET"], tags=["operations"], summary=summary)
    app.add_api_route("/health", ready, methods=["GET"], tags=["operations"], summary=summary)


def add_write_unavailable(app: FastAPI) -> None:
    """A write refused for an outage answers 503 with Retry-After (a page for browsers)."""

    @app.exception_handler(WriteUnavailable)
    async def write_unavailable(request: Request, error: WriteUnavailable) -> Response:
        log.warning("%s %s: 503, %s", request.method, request.url.path, error.message)
        return error_answer(
            request.headers,
            503,
            error.message,
            service=app.title,
            retry_after=error.retry_after_seconds,
            page_message="Nothing was changed. Please try again in a few seconds.",
        )


async def serve(
    runtime: ServiceRuntime, build_app: Callable[[ServiceRuntime], FastAPI], host: str, port: int
) -> int:
    await runtime.open()
    try:
        consumer_task = await runtime.start_consuming()
        app = build_app(runtime)
        add_health(app, runtime)
        add_metrics(app, runtime)
        add_write_unavailable(app)
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        server_task = asyncio.create_task(server.serve(), name="http")
        orphaned = asyncio.create_task(parent_gone(), name="parent")
        done, _ = await asyncio.wait(
            {consumer_task, server_task, orphaned}, return_when=asyncio.FIRST_COMPLETED
        )
        orphaned.cancel()
        if orphaned in done:
            log.warning("the process that started this service is gone: stopping")
            server.should_exit = True
            await server_task
            return 0
        if consumer_task in done and not consumer_task.cancelled():
            error = consumer_task.exception()
            log.error("consumer stopped: %r", error)
            server.should_exit = True
            await server_task
            return 1
        return 0
    finally:
        await runtime.close()


def main(
    runtime: ServiceRuntime | Callable[[], ServiceRuntime],
    build_app: Callable[[ServiceRuntime], FastAPI],
    http_address: tuple[str, int] | Callable[[], tuple[str, int]],
    extra: dict[str, tuple[Callable[[argparse.ArgumentParser], None], ExtraCommand]] | None = None,
    argv: list[str] | None = None,
) -> int:
    """Run the command on the command line.

    A composition root that has read its settings once passes the runtime and the HTTP
    address it built from them; a function that builds either one is accepted too (it is
    called once the command line has been read).
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logs.install()  # repeated lines rate-limited; LOG_FILE rotated
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="consume events and serve HTTP")
    commands.add_parser("rebuild", help="empty this service's schema and replay from Kafka")
    checksum = commands.add_parser("checksum", help="print a stable digest of this service's state")
    checksum.add_argument(
        "--tables", action="store_true", help="also print each table's row count and digest"
    )
    verify = commands.add_parser(
        "verify",
        help="rebuild into a scratch schema while the service runs and compare it with the "
        "live one; print the rows that differ, exit 1 if any",
    )
    verify.add_argument("--rounds", type=int, default=5, help="looks at differences (default 5)")
    again = commands.add_parser(
        "decide-again",
        help="run this service's policies once more on the input events of these types it has "
        "applied already (after an upgrade adds a policy on them); safe to repeat",
    )
    again.add_argument("event_types", nargs="+", metavar="EVENT_TYPE")
    for name, (configure, _) in (extra or {}).items():
        configure(commands.add_parser(name))
    args = parser.parse_args(argv)
    service = runtime if isinstance(runtime, ServiceRuntime) else runtime()

    async def run() -> int:
        if args.command != "serve":
            metrics.serve_while_replaying()  # METRICS_PORT: a rebuild's progress
        if args.command == "serve":
            host, port = http_address if isinstance(http_address, tuple) else http_address()
            return await serve(service, build_app, host, port)
        if args.command in (extra or {}):
            return await (extra or {})[args.command][1](service, args)
        if args.command == "rebuild":
            try:
                report = await service.rebuild(progress=_to_stderr)
                report["checksum"] = await service.checksum()
            finally:
                await service.close()
            print(json.dumps({"service": service.spec.name, **report}))
            return 0
        if args.command == "verify":
            return await _verify(service, args.rounds)
        if args.command == "decide-again":
            return await _decide_again(service, args.event_types)
        await service.open()
        try:
            if args.tables:
                print(json.dumps(await service.table_digests()))
            print(await service.checksum())
        finally:
            await service.close()
        return 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _decide_again(runtime: ServiceRuntime, event_types: list[str]) -> int:
    await runtime.open()
    try:
        report = await runtime.decide_again(event_types)
    except ValueError as refused:
        print(f"decide-again: {refused}", file=sys.stderr)
        return 2
    finally:
        await runtime.close()
    print(json.dumps({"service": runtime.spec.name, **report}))
    return 0


async def _verify(runtime: ServiceRuntime, rounds: int) -> int:
    await runtime.open()
    try:
        report = await runtime.verify(rounds=rounds)
    finally:
        await runtime.close()
        log.info("verify: closed")
    for difference in report.differences:
        print(json.dumps(difference, default=str))
    for withheld in report.withheld:
        print(json.dumps({"decided_but_not_in_log": withheld}))
    print(
        json.dumps(
            {
                "service": runtime.spec.name,
                "same": report.same,
                "differing_rows": len(report.differences),
                "rounds": report.rounds,
                "tables": report.tables,
            }
        )
    )
    return 0 if report.same else 1


if __name__ == "__main__":
    sys.exit("run a service: python -m services.<name> serve")
