"""Each service's own addresses for people: its home page `/`, its API docs `/docs` (Swagger UI
served from the service itself, so the docs work on a network without internet) and `/static`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from services.kernel.web.negotiation import wants_html
from services.kernel.web.pages import STATIC_DIR, render


def add_home_and_docs(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def home(request: Request) -> Response:
        if wants_html(request.headers):
            return render("kernel/home.html", service=app.title, description=app.description)
        return JSONResponse(
            {
                "service": app.title,
                "description": app.description,
                "docs": "/docs",
                "openapi": "/openapi.json",
                "health": "/health",
            }
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Browsers ask every site for one; the answer is an icon, not a 404 page.
        return FileResponse(STATIC_DIR / "swagger-ui" / "favicon-32x32.png", media_type="image/png")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return render("kernel/docs.html", service=app.title, openapi_url=app.openapi_url)
