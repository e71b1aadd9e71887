"""The activity service's HTTP app: the organiser API, one router per resource. Routes only
translate HTTP to commands (service_layer.py) and queries (adapters/read_models.py)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from services.activity.entrypoints import activities, organisers, playlists
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = new_app(
        "Activity service",
        "Organisations, organisers, activities and playlists. Publishing an activity or a "
        "playlist creates its badge. Authenticate with `Authorization: Bearer obk_...`.",
    )
    app.state.runtime = runtime
    for router in (organisers.router, activities.router, playlists.router):
        _mount(app, router)
    return app


def _mount(app: FastAPI, router: APIRouter) -> None:
    """The router's routes themselves on the app, not the router: FastAPI (0.165) includes a
    router lazily, as one route, and the kernel reads `app.router.routes` for what each address
    answers (the 405's Allow header, which operations take an API key in the OpenAPI)."""
    app.router.routes.extend(router.routes)
