#!/usr/bin/env bash
# Offline validation of docker-compose.yml for CI: no Docker engine needed.
#
#  1. the file validates with the required variables set (dummy values);
#  2. the rendered config keeps `condition: service_completed_successfully`;
#  3. it is refused when POSTGRES_PASSWORD is unset (the ${VAR:?} guard).
# Run with Debian's docker-compose (v1), and again with `docker compose`
# (v2 plugin) when the docker client has it; both work without an engine.
#
# Installs Debian's docker-compose (v1.29, Python) when the command is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
compose_file=docker-compose.yml

if ! command -v docker-compose >/dev/null 2>&1; then
    echo "compose-check: docker-compose not found; installing Debian's docker-compose package"
    export DEBIAN_FRONTEND=noninteractive
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo -E); fi
    # Try the existing package lists first; update them only if that fails.
    if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1; then
        "${sudo[@]}" apt-get update -qq
        "${sudo[@]}" apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
    fi
fi

# Never let the caller's environment or a local .env decide the outcome.
unset POSTGRES_PASSWORD CLAIM_TOKEN_SECRET EVIDENCE_SESSION_SECRET BADGE_ISSUER_KEY_SECRETS \
      BADGE_PUBLIC_URL NOTIFIER_SMTP_FROM COMPOSE_FILE COMPOSE_PROJECT_NAME
envfile=$(mktemp)
trap 'rm -f "$envfile" "$envfile.err"' EXIT
dummy=(POSTGRES_PASSWORD=ci-dummy-password CLAIM_TOKEN_SECRET=ci-dummy-claim-token-secret-0123456789abcdef
       EVIDENCE_SESSION_SECRET=ci-dummy-session-secret-0123456789abcdef
       BADGE_ISSUER_KEY_SECRETS=ci-dummy-issuer-key-secret-0123456789abcdef)

failures=0
pass() { echo "  PASS: $*"; }
fail() { echo "  FAIL: $*"; failures=$((failures + 1)); }

# check NAME CMD...: checks 1-3 with CMD as the compose command.
check() {
    local name=$1; shift
    echo "compose-check: $name ($("$@" version --short 2>/dev/null || "$@" version 2>/dev/null | head -n1))"

    if env "${dummy[@]}" "$@" -f "$compose_file" --env-file "$envfile" config -q; then
        pass "$name -f $compose_file config -q with POSTGRES_PASSWORD, CLAIM_TOKEN_SECRET, EVIDENCE_SESSION_SECRET set"
    else
        fail "$name -f $compose_file config -q with the required variables set"
    fi

    # Capture first: `config | grep -q` would race (SIGPIPE under pipefail).
    local rendered
    if rendered=$(env "${dummy[@]}" "$@" -f "$compose_file" --env-file "$envfile" config) \
        && grep -q 'service_completed_successfully' <<<"$rendered"; then
        pass "$name keeps depends_on condition service_completed_successfully (kafka-topics)"
    else
        fail "$name dropped depends_on condition service_completed_successfully"
    fi

    if env -u POSTGRES_PASSWORD "${dummy[@]:1}" "$@" -f "$compose_file" --env-file "$envfile" \
        config -q 2>"$envfile.err"; then
        fail "$name accepted the file with POSTGRES_PASSWORD unset"
    elif grep -q 'set POSTGRES_PASSWORD' "$envfile.err"; then
        pass "$name refuses the file with POSTGRES_PASSWORD unset: $(grep -m1 'POSTGRES_PASSWORD' "$envfile.err")"
    else
        fail "$name failed with POSTGRES_PASSWORD unset, but not because of it:"
        sed 's/^/    /' "$envfile.err"
    fi
}

check docker-compose docker-compose

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    check "docker compose" docker compose
else
    echo "compose-check: docker compose (v2 plugin) not present; skipped"
fi

if [ "$failures" -ne 0 ]; then
    echo "compose-check: $failures check(s) failed"
    exit 1
fi
echo "compose-check: all checks passed"
