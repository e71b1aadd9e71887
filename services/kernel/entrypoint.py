"""The command line every service shares: `serve`, `rebuild`, `checksum`, plus its own extras."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.kernel import logs
from services.kernel.runtime import ServiceRuntime

log = logging.getLogger(__name__)

ExtraCommand = Callable[[ServiceRuntime, argparse.Namespace], Awaitable[int]]


def add_health(app: FastAPI, runtime: ServiceRuntime) -> None:
    @app.get("/health", tags=["operations"], summary="Liveness and consumer progress")
    async def health() -> JSONResponse:
        consumer = runtime.consumer
        task_alive = runtime.caught_up and not _consumer_finished(runtime)
        body = {
            "service": runtime.spec.name,
            "status": "ok" if task_alive else "starting" if not runtime.caught_up else "failed",
            "applied": consumer.applied,
            "dead_lettered": consumer.dead_lettered,
        }
        return JSONResponse(body, status_code=200 if task_alive else 503)


def _consumer_finished(runtime: ServiceRuntime) -> bool:
    task = runtime._consumer_task
    return task is not None and task.done()


async def serve(
    runtime: ServiceRuntime, build_app: Callable[[ServiceRuntime], FastAPI], host: str, port: int
) -> int:
    await runtime.open()
    try:
        consumer_task = await runtime.start_consuming()
        app = build_app(runtime)
        add_health(app, runtime)
        server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        )
        server_task = asyncio.create_task(server.serve(), name="http")
        done, _ = await asyncio.wait(
            {consumer_task, server_task}, return_when=asyncio.FIRST_COMPLETED
        )
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
    runtime_factory: Callable[[], ServiceRuntime],
    build_app: Callable[[ServiceRuntime], FastAPI],
    http_address: Callable[[], tuple[str, int]],
    extra: dict[str, tuple[Callable[[argparse.ArgumentParser], None], ExtraCommand]] | None = None,
    argv: list[str] | None = None,
) -> int:
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
    for name, (configure, _) in (extra or {}).items():
        configure(commands.add_parser(name))
    args = parser.parse_args(argv)
    runtime = runtime_factory()

    async def run() -> int:
        if args.command == "serve":
            host, port = http_address()
            return await serve(runtime, build_app, host, port)
        if args.command in (extra or {}):
            return await (extra or {})[args.command][1](runtime, args)
        if args.command == "rebuild":
            try:
                report = await runtime.rebuild()
                report["checksum"] = await runtime.checksum()
            finally:
                await runtime.close()
            print(json.dumps({"service": runtime.spec.name, **report}))
            return 0
        await runtime.open()
        try:
            if args.tables:
                print(json.dumps(await runtime.table_digests()))
            print(await runtime.checksum())
        finally:
            await runtime.close()
        return 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit("run a service: python -m services.<name> serve")
