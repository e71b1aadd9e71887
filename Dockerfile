# One image for all the services (activity, badge, evidence, notifier, console).
# The service is chosen by the command, e.g. `python -m services.badge serve`;
# see docker-compose.yml.
# Leaflet for the catalogue map, from npm (as deploy/local/install.sh fetches it); no CDN.
FROM node:20-slim AS leaflet
WORKDIR /leaflet
RUN npm pack --silent leaflet@1.9.4 && tar -xzf leaflet-1.9.4.tgz \
    && mkdir out && cp -r package/dist/leaflet.js package/dist/leaflet.css package/dist/images \
       package/LICENSE out/ && echo 1.9.4 > out/VERSION

# The console's htmx, from npm as deploy/local/install.sh fetches it (same pinned version).
FROM node:20-slim AS htmx
WORKDIR /htmx
RUN npm pack --silent htmx.org@2.0.4 && tar -xzf htmx.org-2.0.4.tgz package/dist/htmx.min.js

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11

RUN pip install uv

WORKDIR /app

# Dependencies first: this layer is rebuilt only when pyproject.toml or
# uv.lock change, not on every source edit.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself (README.md is the package's declared readme).
COPY README.md ./
COPY contracts/ ./contracts/
COPY services/ ./services/
COPY --from=leaflet /leaflet/out/ ./services/activity/static/vendor/leaflet/
COPY --from=htmx /htmx/package/dist/htmx.min.js ./services/console/static/vendor/htmx.min.js
RUN uv sync --frozen --no-dev

# Unprivileged runtime user. The blob directories exist in the image and are
# owned by that user, so named volumes mounted there inherit the ownership.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /data/blobs /data/evidence \
    && chown -R app:app /data

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1

USER app

CMD ["python", "-m", "services.activity", "serve"]
