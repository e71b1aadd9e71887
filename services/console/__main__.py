"""`python -m services.console serve`: the organiser console on CONSOLE_HTTP_HOST/PORT."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from services.console.app import build_app
from services.console.settings import ConsoleSettings
from services.kernel import logs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.console")
    parser.add_argument("command", choices=("serve",), help="serve the console's pages")
    parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logs.install()
    settings = ConsoleSettings()
    uvicorn.run(
        build_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
