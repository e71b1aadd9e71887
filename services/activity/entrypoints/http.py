"""The activity service's HTTP app: the organiser API, one router per resource, and the public
catalogue. Routes only translate HTTP to commands (service_layer.py) and queries (adapters/)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.activity.adapters.catalogue import CatalogueReader
from services.activity.entrypoints import activities, catalogue, organisers, playlists, sign_in
from services.activity.settings import ActivitySettings
from services.kernel.http import mount, new_app
from services.kernel.runtime import ServiceRuntime


def build_app(
    runtime: ServiceRuntime,
    sign_in_settings: sign_in.SignInSettings,
    settings: ActivitySettings | None = None,
) -> FastAPI:
    settings = settings or ActivitySettings()
    app = new_app(
        "Activity service",
        "Organisations, organisers, activities and playlists. Publishing an activity or a "
        "playlist creates its badge. Authenticate with `Authorization: Bearer obk_...`. "
        "The public catalogue (`/catalogue`) needs no key.",
    )
    app.state.runtime = runtime
    app.state.sign_in = sign_in_settings
    app.state.catalogue = catalogue.CatalogueWeb(
        reader=CatalogueReader(lambda: runtime.pool),
        badge_public_url=settings.badge_public_url,
        tile_url=settings.map_tile_url,
        attribution=settings.map_attribution,
    )
    mount(
        app,
        organisers.router,
        activities.router,
        playlists.router,
        sign_in.router,
        catalogue.router,
    )
    # The catalogue's style sheet and map script, and Leaflet (vendored by install.sh).
    app.mount(
        "/catalogue/static", StaticFiles(directory=catalogue.STATIC_DIR), name="catalogue-static"
    )
    return app
