"""The activity service's HTTP app: the organiser API, one router per resource. Routes only
translate HTTP to commands (service_layer.py) and queries (adapters/read_models.py)."""

from __future__ import annotations

from fastapi import FastAPI

from services.activity.entrypoints import activities, organisers, playlists, sign_in
from services.kernel.http import mount, new_app
from services.kernel.runtime import ServiceRuntime


def build_app(runtime: ServiceRuntime, sign_in_settings: sign_in.SignInSettings) -> FastAPI:
    app = new_app(
        "Activity service",
        "Organisations, organisers, activities and playlists. Publishing an activity or a "
        "playlist creates its badge. Authenticate with `Authorization: Bearer obk_...`.",
    )
    app.state.runtime = runtime
    app.state.sign_in = sign_in_settings
    mount(app, organisers.router, activities.router, playlists.router, sign_in.router)
    return app
