"""The evidence service's HTTP face: one app with a router per audience (learners, reviewers,
organisers, the public) and the refusals told as each of them needs."""

from __future__ import annotations

from fastapi import FastAPI

from services.evidence.entrypoints import (
    home_pages,
    learner_pages,
    organiser_api,
    public_pages,
    reviewer_pages,
)
from services.evidence.entrypoints.web import EvidenceWeb, install_refusals
from services.kernel.http import mount, new_app

MAX_UPLOAD = 20 * 1024 * 1024


def build_app(web: EvidenceWeb) -> FastAPI:
    app = new_app(
        "Evidence service",
        "Evidence quests: learners show their work for each task; it is approved by the learner, "
        "by peers or by the organisers, and the badge follows.",
        max_body_bytes=MAX_UPLOAD + 64 * 1024,
        public_urls=[web.public_url],
    )
    # The organisers' key reader finds the runtime here; the routes find their wiring.
    app.state.runtime = web.runtime
    app.state.evidence = web
    install_refusals(app)
    mount(
        app,
        *(
            audience.router
            for audience in (learner_pages, home_pages, reviewer_pages, organiser_api, public_pages)
        ),
    )
    return app
