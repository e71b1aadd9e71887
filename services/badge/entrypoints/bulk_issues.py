"""Works through the bulk issues accepted with `Prefer: respond-async`, beside the HTTP app:
each one's CSV is read from the blob store and its rows become offers a chunk at a time, each
chunk one transaction, until `BulkIssueFinished`. The offer ids follow from the issue's key and
the address, so a chunk worked again (after a restart, or by a second instance) makes nothing
twice, and an issue not finished when the service stopped is resumed when it starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.badge import service_layer
from services.badge.adapters import read_models
from services.badge.adapters.read_models import BulkIssue
from services.badge.entrypoints import recipients
from services.badge.entrypoints.dependencies import BadgeWeb
from services.kernel.errors import DomainError, ServiceUnavailable
from services.organiser_access import Organiser

log = logging.getLogger(__name__)

# Offers a transaction makes: small enough that progress moves and a write stays well inside
# the write timeout, large enough that 10,000 rows take few round trips.
CHUNK = 250


class BulkIssueWorker:
    def __init__(self, web: BadgeWeb, *, interval: float = 0.5) -> None:
        self._web = web
        self._interval = interval
        self._stop = asyncio.Event()
        # Set when a bulk issue is accepted: look at once, not at the next interval.
        self._wake = web.bulk_issue_waiting

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        pause = self._interval
        while not self._stop.is_set():
            try:
                await self.work_pending()
                pause = self._interval
            except Exception as error:
                # Kafka or PostgreSQL away: nothing half done stays (each chunk is one
                # transaction); try again, less often while it lasts.
                log.warning("bulk issues wait: %r", error)
                pause = min(pause * 2, 10.0)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

    async def work_pending(self) -> None:
        async with self._web.runtime.pool.acquire() as conn:
            pending = await read_models.unfinished_bulk_issues(conn)
        for issue in pending:
            if self._stop.is_set():
                return
            await self.work(issue)

    async def work(self, issue: BulkIssue) -> None:
        web = self._web
        organiser = Organiser(issue.organiser_id, issue.organisation_id)
        data = web.blobs.get(issue.file_sha256)
        if data is None:
            # Kept by another instance whose blob store this one does not share: it works it.
            log.warning("bulk issue %s: its file is not in this blob store", issue.issue_id)
            return
        accepted, _ = recipients.from_csv(data)
        made = 0
        try:
            for start in range(0, len(accepted), CHUNK):
                if self._stop.is_set():
                    return  # resumed at the next start
                chunk = accepted[start : start + CHUNK]
                await service_layer.offer_to_emails(
                    web.runtime,
                    organiser,
                    issue.badge_class_id,
                    chunk,
                    issue.idempotency_key,
                    web.offer_ids,
                )
                made += len(chunk)
                # Let the pages and the API answer between chunks.
                await asyncio.sleep(0)
        except ServiceUnavailable:
            raise  # not a refusal: tried again
        except DomainError as refused:
            # The badge can no longer be issued (or is no longer theirs): say so, and stop.
            await service_layer.finish_bulk_issue(
                web.runtime,
                organiser,
                issue.badge_class_id,
                issue.issue_id,
                made,
                error=refused.message[:500],
            )
            return
        await service_layer.finish_bulk_issue(
            web.runtime, organiser, issue.badge_class_id, issue.issue_id, made
        )
