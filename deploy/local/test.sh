#!/usr/bin/env bash
# Runs every check of the project on this machine, from nothing: installs what is missing,
# starts the local Kafka, PostgreSQL and SMTP server, then lint, types, layer rules
# (import-linter), unit, integration and end-to-end tests. Extra arguments go to pytest (e.g.
# `bash deploy/local/test.sh tests/unit`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash deploy/local/install.sh
bash deploy/local/infra.sh start
eval "$(bash deploy/local/infra.sh env)"

uv=(uv)
command -v uv >/dev/null || uv=(python3 -m uv)

echo "== ruff"
"${uv[@]}" run --frozen ruff check .
"${uv[@]}" run --frozen ruff format --check .
echo "== mypy"
"${uv[@]}" run --frozen mypy
echo "== import-linter (the layer rules in pyproject.toml)"
"${uv[@]}" run --frozen lint-imports
echo "== pytest"
"${uv[@]}" run --frozen pytest "$@"
