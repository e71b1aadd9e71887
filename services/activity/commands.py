"""The operator's command line for organisations: bootstrap one, and manage its organisers and
API keys on the server (for when no admin key is at hand: lost, leaked, or its holder gone).
Each command gets the runtime `app.py` composed; it decides nothing itself."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from contracts.organiser_keys import KEY_PREFIX, key_prefix
from services.activity import service_layer
from services.activity.adapters import read_models
from services.activity.domain.keys import new_key
from services.activity.domain.organisers import BootstrapOrganisation, Operator, decide_bootstrap
from services.kernel.entrypoint import ExtraCommand
from services.kernel.errors import DomainError
from services.kernel.runtime import ServiceRuntime

OPERATOR = Operator()


def _print(value: Any) -> None:
    print(json.dumps(value, default=str))


def _refused(error: DomainError) -> int:
    print(f"error: {error.message}", file=sys.stderr)
    return 2


async def _opened(runtime: ServiceRuntime, work: Callable[[], Awaitable[int]]) -> int:
    await runtime.open()
    try:
        return await work()
    except DomainError as error:
        return _refused(error)
    finally:
        await runtime.close()


def _bootstrap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Create an organisation with its first organiser (its admin); print the API key once."
    )
    parser.add_argument("--organisation", required=True, help="the organisation's name")
    parser.add_argument("--url", required=True, help="the organisation's home page (http or https)")
    parser.add_argument("--email", required=True, help="the organisation's contact email")
    parser.add_argument("--organiser-name", required=True)
    parser.add_argument("--organiser-email", required=True)


async def _bootstrap(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    command = BootstrapOrganisation(
        organisation_id=uuid.uuid4(),
        name=args.organisation,
        url=args.url,
        email=args.email,
        organiser_id=uuid.uuid4(),
        organiser_name=args.organiser_name,
        organiser_email=args.organiser_email,
    )
    key = new_key()
    try:  # the decision is pure: refused before anything connects
        decide_bootstrap(command, key)
    except DomainError as error:
        return _refused(error)

    async def work() -> int:
        created = await service_layer.bootstrap(runtime, command, key)
        _print(
            {
                "organisation_id": str(created.organisation_id),
                "organiser_id": str(created.organiser_id),
                "api_key": created.api_key,
            }
        )
        return 0

    return await _opened(runtime, work)


def _organisation_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--organisation", required=True, type=uuid.UUID, help="organisation id")


def _organiser_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--organiser", required=True, type=uuid.UUID, help="organiser id")


async def _organisers(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with runtime.pool.acquire() as conn:
            for row in await read_models.list_organisers(conn, args.organisation):
                _print(row)
        return 0

    return await _opened(runtime, work)


async def _keys(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    async def work() -> int:
        async with runtime.pool.acquire() as conn:
            for row in await read_models.list_keys(conn, args.organisation):
                _print(row)
        return 0

    return await _opened(runtime, work)


def _key_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", help="the key's id or its prefix (obk_...)")


async def _revoke_key(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    async def work() -> int:
        key_id = args.key.removeprefix(KEY_PREFIX)[:12]
        revoked = await service_layer.revoke_key(runtime, OPERATOR, key_id)
        _print({"revoked": key_prefix(revoked.key_id), "organiser_id": revoked.organiser_id})
        return 0

    return await _opened(runtime, work)


async def _issue_key(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    async def work() -> int:
        issued = await service_layer.issue_key(runtime, OPERATOR, args.organiser)
        _print({"organiser_id": issued.organiser_id, "api_key": issued.api_key})
        return 0

    return await _opened(runtime, work)


async def _remove_organiser(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    async def work() -> int:
        await service_layer.remove_organiser(runtime, OPERATOR, args.organiser)
        _print({"removed": args.organiser})
        return 0

    return await _opened(runtime, work)


async def _make_admin(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    async def work() -> int:
        await service_layer.make_admin(runtime, OPERATOR, args.organiser)
        _print({"admin": args.organiser})
        return 0

    return await _opened(runtime, work)


def _described(
    text: str, add: Callable[[argparse.ArgumentParser], None]
) -> Callable[[argparse.ArgumentParser], None]:
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.description = text
        add(parser)

    return configure


COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], ExtraCommand]] = {
    "bootstrap": (_bootstrap_arguments, _bootstrap),
    "organisers": (
        _described("List an organisation's organisers, admins marked.", _organisation_argument),
        _organisers,
    ),
    "keys": (
        _described("List an organisation's API keys (prefixes only).", _organisation_argument),
        _keys,
    ),
    "revoke-key": (_described("Revoke an API key at once.", _key_argument), _revoke_key),
    "issue-key": (
        _described("Issue a new API key for an organiser; printed once.", _organiser_argument),
        _issue_key,
    ),
    "remove-organiser": (
        _described("Remove an organiser and revoke all their keys.", _organiser_argument),
        _remove_organiser,
    ),
    "make-admin": (
        _described("Make an organiser an admin of their organisation.", _organiser_argument),
        _make_admin,
    ),
}
