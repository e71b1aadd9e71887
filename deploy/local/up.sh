#!/usr/bin/env bash
# Sets everything up on this machine and runs the platform: installs what is missing, starts
# Kafka, PostgreSQL and the SMTP mailbox, then the four services in the background, creates a
# demo organiser the first time, and prints where to look. Stop it all with deploy/local/down.sh.
# Works from any folder the repository is cloned into. A start that fails stops what it started
# (infrastructure already running before is left alone) and says what went wrong.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

bash deploy/local/install.sh

# infra.sh writes the parts it launches here; it stops them itself if it fails.
started=$(mktemp)
trap 'rm -f "$started"' EXIT
INFRA_STARTED_FILE=$started bash deploy/local/infra.sh start
eval "$(bash deploy/local/infra.sh env)"

uv=(uv)
command -v uv >/dev/null || uv=(python3 -m uv)
if ! "${uv[@]}" run --frozen python -m services.local_runner up "$@"; then
	# Newest first: the reverse of the order they were started in.
	mapfile -t parts < <(tac "$started")
	if ((${#parts[@]})); then
		echo "up.sh: the platform did not start; stopping the infrastructure this start launched (${parts[*]})" >&2
		bash deploy/local/infra.sh stop "${parts[@]}" >&2 || true
	fi
	echo "up.sh: failed (see the messages above)" >&2
	exit 1
fi
