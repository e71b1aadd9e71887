#!/usr/bin/env bash
# Sets everything up on this machine and runs the platform: installs what is missing, starts
# Kafka, PostgreSQL and the SMTP mailbox, then the four services in the background, creates a
# demo organiser the first time, and prints where to look. Stop it all with deploy/local/down.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash deploy/local/install.sh
bash deploy/local/infra.sh start
eval "$(bash deploy/local/infra.sh env)"

uv=(uv)
command -v uv >/dev/null || uv=(python3 -m uv)
"${uv[@]}" run --frozen python -m services.local_runner up
