#!/usr/bin/env bash
# One-time (and re-runnable) setup of what deploy/local/infra.sh and the tests need on a fresh
# Debian machine without Docker: PostgreSQL (plus Java and Maven if missing) from apt, the Kafka
# broker's jars from Maven Central, uv, and the project's venv (uv sync --frozen).
# Every step is skipped when its result is already there, so a second run takes about a second.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
KAFKA_POM_DIR=$HERE/kafka
KAFKA_LIBS=$KAFKA_POM_DIR/target/dependency

say() { printf 'install: %s\n' "$*"; }
die() {
	printf 'install: %s\n' "$*" >&2
	exit 1
}

as_root() {
	if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

# --- system packages ---------------------------------------------------------------------------
packages=()
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || packages+=(postgresql)
command -v java >/dev/null || packages+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || packages+=(maven)
# The browser tests (tests/browser) drive Debian's Chromium; Playwright downloads no browser.
[[ -x /usr/bin/chromium ]] || packages+=(chromium)
[[ -d /usr/share/fonts/truetype/dejavu ]] || packages+=(fonts-dejavu-core)
# Node.js and npm: the console's htmx and the independent Open Badges 3.0 verifiers the tests
# run (tests/verifiers) come from the npm registry.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
# The console's browser test decodes the QR code it downloads (tests/browser/test_issuing_console.py).
command -v zbarimg >/dev/null || packages+=(zbar-tools)

if ((${#packages[@]})); then
	say "apt-get install ${packages[*]}"
	as_root apt-get update -qq
	# Remember which PostgreSQL clusters already ran, to tell them from one the package starts.
	had_clusters=$(pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1 "/" $2}' || true)
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${packages[@]}" >/dev/null
	# The package creates a default "main" cluster on 5432 and may start it. Nothing here uses
	# it (infra.sh runs its own server in the run folder), so do not leave it running.
	if command -v pg_lsclusters >/dev/null; then
		pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' |
			while read -r version cluster; do
				grep -qxF "$version/$cluster" <<<"$had_clusters" && continue
				say "stopping the PostgreSQL cluster $version/$cluster the package started"
				as_root pg_ctlcluster "$version" "$cluster" stop || true
			done
	fi
else
	say "system packages present"
fi

# --- Kafka jars --------------------------------------------------------------------------------
# Fetched again when missing or when pom.xml changed since the last fetch; the folder is wiped
# first because copy-dependencies never removes jars (an old slf4j-api 1.x next to 2.x would
# leave the broker silent).
stamp=$KAFKA_LIBS/.fetched
if ! compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || [[ ! -f $stamp || $KAFKA_POM_DIR/pom.xml -nt $stamp ]]; then
	say "fetching the Kafka jars with Maven"
	rm -rf "$KAFKA_LIBS"
	# Output only on failure (Debian's mvn prints terminal escape codes even with -q).
	if ! out=$(cd "$KAFKA_POM_DIR" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime 2>&1); then
		printf '%s\n' "$out" >&2
		die "mvn dependency:copy-dependencies failed"
	fi
	compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || die "Maven did not produce the Kafka jars"
	touch "$stamp"
else
	say "Kafka jars present"
fi

# --- the console's htmx, vendored from npm ------------------------------------------------------
# Served by the console itself (services/console/static/vendor/, not committed), never a CDN.
# `npm pack` checks the package against the registry's integrity hash. Fetched again when the
# pinned version changes (the Dockerfile pins the same).
HTMX_VERSION=2.0.4
HTMX_DIR=$REPO/services/console/static/vendor
if [[ ! -f $HTMX_DIR/htmx.min.js || "$(cat "$HTMX_DIR/htmx.version" 2>/dev/null)" != "$HTMX_VERSION" ]]; then
	say "npm pack htmx.org@$HTMX_VERSION (the console's htmx)"
	scratch=$(mktemp -d)
	(cd "$scratch" && npm pack --silent "htmx.org@$HTMX_VERSION" >/dev/null) || die "npm pack htmx.org@$HTMX_VERSION failed"
	tar -xzf "$scratch"/htmx.org-*.tgz -C "$scratch" package/dist/htmx.min.js
	mkdir -p "$HTMX_DIR"
	mv "$scratch/package/dist/htmx.min.js" "$HTMX_DIR/htmx.min.js"
	printf '%s\n' "$HTMX_VERSION" >"$HTMX_DIR/htmx.version"
	rm -rf "$scratch"
else
	say "htmx $HTMX_VERSION present"
fi

# --- Leaflet for the catalogue map, from npm into the activity service's static files ---------
# The catalogue's search uses PostgreSQL's pg_trgm: Debian ships it in postgresql-<version>.
compgen -G '/usr/share/postgresql/*/extension/pg_trgm.control' >/dev/null ||
	die "PostgreSQL's pg_trgm extension is missing (Debian ships it in the postgresql-<version> package)"
LEAFLET_VERSION=1.9.4
leaflet_dir=$REPO/services/activity/static/vendor/leaflet
if [[ ! -f $leaflet_dir/leaflet.js || $(cat "$leaflet_dir/VERSION" 2>/dev/null) != "$LEAFLET_VERSION" ]]; then
	say "npm pack leaflet@$LEAFLET_VERSION"
	leaflet_tmp=$(mktemp -d)
	(cd "$leaflet_tmp" && npm pack --silent "leaflet@$LEAFLET_VERSION" >/dev/null) ||
		die "npm pack leaflet@$LEAFLET_VERSION failed"
	tar -xzf "$leaflet_tmp/leaflet-$LEAFLET_VERSION.tgz" -C "$leaflet_tmp"
	rm -rf "$leaflet_dir"
	mkdir -p "$leaflet_dir"
	cp "$leaflet_tmp/package/dist/leaflet.js" "$leaflet_tmp/package/dist/leaflet.css" \
		"$leaflet_tmp/package/LICENSE" "$leaflet_dir/"
	cp -r "$leaflet_tmp/package/dist/images" "$leaflet_dir/"
	echo "$LEAFLET_VERSION" >"$leaflet_dir/VERSION"
	rm -rf "$leaflet_tmp"
else
	say "Leaflet $LEAFLET_VERSION present"
fi

# --- uv and the venv ---------------------------------------------------------------------------
if command -v uv >/dev/null; then
	UV=(uv)
else
	say "pip install uv"
	# Debian's own python3 refuses plain pip installs (PEP 668); that is the fallback's purpose.
	python3 -m pip install -q uv || python3 -m pip install -q --break-system-packages uv
	hash -r
	# pip may have put the script somewhere not on PATH; the module always works.
	if command -v uv >/dev/null; then UV=(uv); else UV=(python3 -m uv); fi
fi

say "uv sync --frozen"
(cd "$REPO" && "${UV[@]}" sync --frozen --quiet)
# --- independent Open Badges 3.0 verifiers -----------------------------------------------------
# The DCC's verifier-core and Digital Bazaar's vc stack, at the versions in package-lock.json,
# into tests/verifiers/node_modules; the tests run them offline (nothing is fetched then).
VERIFIERS=$REPO/tests/verifiers
if [[ ! -f $VERIFIERS/node_modules/.package-lock.json || $VERIFIERS/package-lock.json -nt $VERIFIERS/node_modules/.package-lock.json ]]; then
	say "npm ci in tests/verifiers"
	(cd "$VERIFIERS" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
else
	say "Open Badges 3.0 verifiers present"
fi

say "done; next: bash deploy/local/infra.sh start"
