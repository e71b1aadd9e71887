#!/usr/bin/env bash
# Stops what deploy/local/up.sh started: the four services, then the infrastructure (by pid).
# Data stays in .run/ for the next start; `deploy/local/infra.sh delete` then starts from nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

uv=(uv)
command -v uv >/dev/null || uv=(python3 -m uv)
"${uv[@]}" run --frozen python -m services.local_runner down
bash deploy/local/infra.sh stop
