"""The badge service's HTTP app: one router per audience (organisers, verifiers, learners)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI

from services.badge.entrypoints import (
    bulk_issues,
    counts,
    credentials,
    documents,
    endorsements,
    organiser,
    pages,
    signed_assertions,
)
from services.badge.entrypoints.dependencies import BadgeWeb
from services.kernel.http import mount, new_app

# The largest body any route takes (a bulk issue as JSON); each route's own limit is its note.
MAX_BODY_BYTES = organiser.MAX_BODY_BYTES


def build_app(web: BadgeWeb) -> FastAPI:
    app = new_app(
        "Badge service",
        "Badges made from published activities and playlists: edit them, issue them to emails, "
        "as a QR code or a link, and host their Open Badges 2.0 documents. Organiser endpoints "
        "take `Authorization: Bearer obk_...`.",
        max_body_bytes=MAX_BODY_BYTES,
        public_urls=[web.urls.base],
        route_notes={
            **documents.ROUTE_NOTES,
            **organiser.ROUTE_NOTES,
            **credentials.ROUTE_NOTES,
            **signed_assertions.ROUTE_NOTES,
            **endorsements.ROUTE_NOTES,
        },
    )
    app.state.runtime = web.runtime
    app.state.web = web
    mount(
        app,
        organiser.router,
        counts.router,
        documents.router,
        credentials.router,
        signed_assertions.router,
        endorsements.router,
        pages.router,
    )
    worker = bulk_issues.BulkIssueWorker(web)
    app.state.bulk_issues = worker
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def with_bulk_issues(app: FastAPI) -> AsyncIterator[Any]:
        # While it serves, the bulk issues accepted to be worked after the answer are worked.
        async with serving(app) as state:
            task = asyncio.create_task(worker.run(), name="bulk-issues")
            try:
                yield state
            finally:
                worker.stop()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, 10)

    app.router.lifespan_context = with_bulk_issues
    return app
