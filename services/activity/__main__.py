"""`python -m services.activity serve|rebuild|checksum|bootstrap`."""

from __future__ import annotations

import argparse
import json
import sys

from services.activity import service_layer
from services.activity.app import build_runtime
from services.activity.entrypoints.http import build_app
from services.activity.settings import ActivitySettings
from services.kernel.entrypoint import main
from services.kernel.runtime import ServiceRuntime


def _bootstrap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Create an organisation with its first organiser; print the API key once."
    parser.add_argument("--organisation", required=True, help="the organisation's name")
    parser.add_argument("--url", required=True, help="the organisation's home page")
    parser.add_argument("--email", required=True, help="the organisation's contact email")
    parser.add_argument("--organiser-name", required=True)
    parser.add_argument("--organiser-email", required=True)


async def _bootstrap(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    await runtime.open()
    try:
        created = await service_layer.create_organisation(
            runtime,
            name=args.organisation,
            url=args.url,
            email=args.email,
            organiser_name=args.organiser_name,
            organiser_email=args.organiser_email,
        )
    finally:
        await runtime.close()
    print(
        json.dumps(
            {
                "organisation_id": str(created.organisation_id),
                "organiser_id": str(created.organiser_id),
                "api_key": created.api_key,
            }
        )
    )
    return 0


def _address() -> tuple[str, int]:
    settings = ActivitySettings()
    return settings.http_host, settings.http_port


if __name__ == "__main__":
    sys.exit(
        main(
            build_runtime,
            build_app,
            _address,
            extra={"bootstrap": (_bootstrap_arguments, _bootstrap)},
        )
    )
