"""`python -m services.notifier resend-failed --since T [--until T]`: every email recorded as
failed in the window, and not sent since, is asked for again (EmailResendRequested); the
running notifier's retry schedule sends each as a new email."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from contracts import new_envelope
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.adapters import read_models as tables
from services.notifier.domain.requests import decide_resend_failed, resend_request_id


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-12-01T08:00:00Z)"
        ) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Send again every email that failed in a time window."
    parser.add_argument(
        "--since", type=_moment, required=True, help="failed at or after (ISO 8601; UTC if bare)"
    )
    parser.add_argument("--until", type=_moment, default=None, help="failed before (default: now)")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be sent again, append nothing"
    )


async def resend_failed(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    until: datetime = args.until or datetime.now(UTC)
    if until <= args.since:
        print(json.dumps({"error": "--until must be after --since"}))
        return 2
    unknown: list[str] = []
    await runtime.open()
    try:

        async def work(uow: UnitOfWork) -> list[dict[str, str]]:
            requested = []
            for failed in await tables.failed_in_window(uow.conn, args.since, until):
                asked = decide_resend_failed(failed, requested_by="operator")
                if not asked:
                    # Composed from nothing the notifier kept (mailed before it kept sources,
                    # and not rebuilt since): listed, but it cannot be composed again.
                    unknown.append(str(failed.email_id))
                    continue
                for event in asked:
                    if not args.dry_run:
                        await uow.emit(
                            new_envelope(
                                event,
                                event_id=resend_request_id(failed.email_id),
                                stream_id=event.email_id,
                                stream_version=1,
                                causation_id=failed.email_id,
                                actor="operator",
                            )
                        )
                    requested.append(
                        {
                            "email_id": str(failed.email_id),
                            "kind": failed.kind,
                            "recipient": failed.recipient,
                        }
                    )
            return requested

        requested = await runtime.execute(work)
    finally:
        await runtime.close()
    print(
        json.dumps(
            {
                "resent": len(requested),
                "dry_run": args.dry_run,
                "emails": requested,
                "not_composable": unknown,
            }
        )
    )
    return 0


COMMANDS = {"resend-failed": (configure, resend_failed)}
