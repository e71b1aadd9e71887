#!/usr/bin/env bash
# Local infrastructure for the platform's tests and local runner, without Docker:
#   - Apache Kafka (KRaft, one node acting as broker and controller) from the jars that
#     deploy/local/install.sh fetched with Maven,
#   - PostgreSQL from Debian's packages, in its own data folder,
#   - an SMTP mailbox (deploy/local/mailbox.py) that keeps every message as an .eml file.
# Everything listens on 127.0.0.1 only and keeps its state, logs and pid files in one run folder.
#
# Usage: deploy/local/infra.sh start|stop [PART...]|status|env|delete
#   start   starts what is not running yet and waits until every part answers (idempotent);
#           if a part fails, it stops the parts this start launched and says what went wrong
#   stop    stops what `start` started (or only the PARTs named: kafka, postgres, mailbox),
#           by pid, and waits for it to exit
#   status  one line per part; exit status 3 if any part is down
#   env     the export lines the platform and the tests read: eval "$(deploy/local/infra.sh env)"
#   delete  stops everything and deletes the run folder (and PostgreSQL's files, wherever
#           they are): the next start begins from nothing
#
# Settings (environment): RUN_DIR (default <repo>/.run), KAFKA_PORT (9092),
# KAFKA_CONTROLLER_PORT (9093), PG_PORT (5433), SMTP_PORT (2525), MAILBOX_HTTP_PORT (8025),
# KAFKA_HEAP_OPTS ("-Xms512m -Xmx1g"), INFRA_STARTED_FILE (if set, `start` writes there the
# names of the parts it launched, so a caller that fails later can stop just those).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

# Absolute, because the paths end up in config files and in process command lines.
RUN_DIR=$(realpath -m "${RUN_DIR:-$REPO/.run}")
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
PG_PORT=${PG_PORT:-5433}
SMTP_PORT=${SMTP_PORT:-2525}
MAILBOX_HTTP_PORT=${MAILBOX_HTTP_PORT:-8025}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}

HOST=127.0.0.1
PY=$REPO/.venv/bin/python
KAFKA_LIBS=$HERE/kafka/target/dependency
LOGS=$RUN_DIR/logs
PIDS=$RUN_DIR/pids
KAFKA_DIR=$RUN_DIR/kafka
KAFKA_CONFIG=$KAFKA_DIR/server.properties
# PostgreSQL's folder (its data, and its unix socket): see locate_postgres.
PG_LINK=$RUN_DIR/postgres
PG_DIR=$PG_LINK
PG_DATA=$PG_DIR/data
PG_MARKER=$PIDS/postgres.started-by-infra
MAILBOX_DIR=$RUN_DIR/mailbox

# How each process is recognised in /proc/<pid>/cmdline (arguments joined by spaces). Includes
# the run folder, so two run folders (RUN_DIR=...) never mistake each other's processes.
KAFKA_SIGNATURE=" kafka.Kafka $KAFKA_CONFIG "
MAILBOX_SIGNATURE=" $HERE/mailbox.py --dir $MAILBOX_DIR "

say() { printf '%s\n' "$*"; }
die() {
	printf 'infra.sh: %s\n' "$*" >&2
	exit 1
}

# --- processes ---------------------------------------------------------------------------------

# True if the process exists and is not a zombie (a zombie still answers kill -0).
alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*') '} # the fields after "(command name)"; the state comes first
	[[ ${stat%% *} != Z ]]
}

# Prints the pid from pids/NAME.pid if that process is alive and is still the one we started
# (a pid file can outlive its process, e.g. after a reboot, and the pid can be reused).
running_pid() {
	local name=$1 signature=$2 file=$PIDS/$1.pid pid cmdline
	[[ -f $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ " $cmdline" == *"$signature"* ]] || return 1
	say "$pid"
}

# Starts a command detached from this shell: setsid so a Ctrl-C or a closed terminal where
# `start` ran does not reach it, nohup for SIGHUP, stdin from /dev/null. Records its pid.
launch() {
	local name=$1 logfile=$2
	shift 2
	# 9>&-: the child must not inherit the run folder lock (see lock_run_dir).
	setsid nohup "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
	say $! >"$PIDS/$name.pid"
	started "$name"
}

# The parts this `start` launched, so a failure can stop them again (see cmd_start).
STARTED=()
started() {
	STARTED+=("$1")
	if [[ -n ${INFRA_STARTED_FILE:-} ]]; then
		say "$1" >>"$INFRA_STARTED_FILE"
	fi
}

# SIGTERM, wait up to TIMEOUT seconds, then SIGKILL. Only ever the pid from our pid file.
stop_process() {
	local name=$1 signature=$2 timeout=$3 pid i
	if ! pid=$(running_pid "$name" "$signature"); then
		rm -f "$PIDS/$name.pid"
		say "$name: not running"
		return 0
	fi
	say "$name: stopping (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		say "$name: still running after ${timeout}s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && die "$name: pid $pid survived SIGKILL"
	fi
	rm -f "$PIDS/$name.pid"
	say "$name: stopped"
}

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (: <>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Before starting a part: its ports must be free, or the readiness check would be fooled by
# whatever else is listening there while our process fails to bind.
require_free_ports() {
	local name=$1 port
	shift
	for port in "$@"; do
		port_open "$port" && die "$name: port $port on $HOST is already in use by another process"
	done
	return 0
}

# Logs are appended across starts; each start writes a marker line first, so a failure shows
# only what this start logged, not the end of an earlier run.
START_MARK='==== infra.sh start'
mark_logs() {
	local f
	for f in "$@"; do
		mkdir -p "$(dirname "$f")"
		printf '%s %s ====\n' "$START_MARK" "$(date -u +%FT%TZ)" >>"$f"
	done
}

show_logs() {
	local f
	for f in "$@"; do
		[[ -s $f ]] || continue
		printf -- '--- %s, since the last start (at most 40 lines) ---\n' "$f" >&2
		# From the end back to the last marker, then back into order. (sed stops reading early,
		# so tac may get SIGPIPE: not an error.)
		tac "$f" | sed "/^$START_MARK/q" | tac | tail -n 40 >&2 || true
	done
}

# wait_until NAME TIMEOUT PID CHECK...: runs CHECK every second until it succeeds. Fails with
# the log tail if PID (when given) exits meanwhile or TIMEOUT seconds pass.
wait_until() {
	local name=$1 timeout=$2 pid=$3 deadline=$((SECONDS + $2))
	shift 3
	until "$@"; do
		if [[ -n $pid ]] && ! alive "$pid"; then
			rm -f "$PIDS/$name.pid"
			show_logs_of "$name"
			die "$name: the process exited during startup (logs above)"
		fi
		if ((SECONDS >= deadline)); then
			show_logs_of "$name"
			die "$name: not ready after ${timeout}s (logs above)"
		fi
		sleep 1
	done
}

show_logs_of() {
	case $1 in
	kafka) show_logs "$LOGS/kafka.out" "$LOGS/kafka/server.log" ;;
	postgres) show_logs "$LOGS/postgres.log" ;;
	mailbox) show_logs "$LOGS/mailbox.log" ;;
	esac
}

require_venv() {
	[[ -x $PY ]] || die "no Python venv at $REPO/.venv: run deploy/local/install.sh first"
}

# --- Kafka -------------------------------------------------------------------------------------

find_java() {
	local candidate major
	for candidate in "$(command -v java || true)" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java; do
		[[ -n $candidate && -x $candidate ]] || continue
		# Kafka 4.x brokers need Java 17 or newer. "1.8.0_x" reads as 1 here, i.e. too old.
		major=$("$candidate" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p')
		if [[ -n $major ]] && ((major >= 17)); then
			say "$candidate"
			return 0
		fi
	done
	die "no Java 17+ found (java on PATH, /usr/lib/jvm/temurin-25-jdk-amd64)"
}

# The broker's config, regenerated at each start so it follows the settings above.
write_kafka_config() {
	cat >"$KAFKA_CONFIG" <<EOF
# Generated by deploy/local/infra.sh at each start; edit the script, not this file.
# One node in KRaft combined mode: it is the broker and the (only) controller.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=$KAFKA_DIR/data

# A single broker can only hold one replica of the internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# No 3 s wait before the first rebalance of a consumer group: tests start consumers often.
group.initial.rebalance.delay.ms=0
num.partitions=3
# Topics are created explicitly (with their own retention), never by a typo in a client.
auto.create.topics.enable=false
EOF
}

kafka_java() {
	"$JAVA" -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" -Dkafka.logs.dir="$LOGS/kafka" \
		-cp "$KAFKA_LIBS/*" "$@"
}

# Ready = the broker answers metadata with itself registered, and lists topics.
kafka_ready() {
	"$PY" - "$HOST:$KAFKA_PORT" >/dev/null 2>&1 <<'EOF'
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient


async def main() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000)
    await asyncio.wait_for(admin.start(), 5)
    try:
        cluster = await asyncio.wait_for(admin.describe_cluster(), 5)
        if not cluster["brokers"]:
            sys.exit(1)
        await asyncio.wait_for(admin.list_topics(), 5)
    finally:
        await admin.close()


asyncio.run(main())
EOF
}

# Launches the broker (formatting its storage the first time) without waiting for it.
launch_kafka() {
	local pid cluster_id
	if pid=$(running_pid kafka "$KAFKA_SIGNATURE"); then
		say "kafka: already running (pid $pid)"
		return 0
	fi
	compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
		die "no Kafka jars in $KAFKA_LIBS: run deploy/local/install.sh first"
	require_free_ports kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
	JAVA=$(find_java)
	mkdir -p "$KAFKA_DIR/data" "$LOGS/kafka"
	write_kafka_config

	# KRaft storage must be formatted once with a cluster id; meta.properties marks it done.
	if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
		if [[ ! -s $KAFKA_DIR/cluster.id ]]; then
			# Only the id line: anything else the tool might print is not the id.
			{ kafka_java -Xmx256m kafka.tools.StorageTool random-uuid || true; } |
				{ grep -E '^[A-Za-z0-9_-]{22}$' || true; } | tail -n 1 >"$KAFKA_DIR/cluster.id"
			[[ -s $KAFKA_DIR/cluster.id ]] || die "kafka: could not generate a cluster id"
		fi
		cluster_id=$(<"$KAFKA_DIR/cluster.id")
		say "kafka: formatting storage (cluster id $cluster_id)"
		# --standalone: this node alone forms the (dynamic) controller quorum.
		kafka_java -Xmx256m kafka.tools.StorageTool format --standalone \
			-t "$cluster_id" -c "$KAFKA_CONFIG" >>"$LOGS/kafka.out" 2>&1 ||
			{
				show_logs "$LOGS/kafka.out"
				die "kafka: formatting the storage failed"
			}
	fi

	say "kafka: starting on $HOST:$KAFKA_PORT"
	mark_logs "$LOGS/kafka.out" "$LOGS/kafka/server.log"
	# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
	launch kafka "$LOGS/kafka.out" "$JAVA" $KAFKA_HEAP_OPTS \
		-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
		-XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" -Dkafka.logs.dir="$LOGS/kafka" \
		-cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONFIG"
}

wait_kafka() {
	local pid
	pid=$(running_pid kafka "$KAFKA_SIGNATURE") || {
		show_logs_of kafka
		die "kafka: the broker exited during startup (logs above)"
	}
	# A cold JVM start plus the first metadata load takes a while; 90 s is generous.
	wait_until kafka 90 "$pid" kafka_ready
	say "kafka: ready on $HOST:$KAFKA_PORT (pid $pid)"
}

# --- PostgreSQL --------------------------------------------------------------------------------

find_postgres() {
	local bin
	# The newest installed major version, e.g. /usr/lib/postgresql/15/bin.
	bin=$(compgen -G '/usr/lib/postgresql/*/bin/postgres' | sort -V | tail -n 1 || true)
	[[ -n $bin ]] || die "PostgreSQL is not installed: run deploy/local/install.sh first"
	PG_BIN=$(dirname "$bin")
	PG_VERSION=$(basename "$(dirname "$PG_BIN")")
}

# PostgreSQL refuses to run as root; as root we act as the postgres user. From / because
# that user may not be allowed into the current directory.
as_pg() {
	if ((EUID == 0)); then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# Where PostgreSQL keeps its files. Normally $RUN_DIR/postgres. But as root the server runs as
# the postgres user, which must be able to walk the path down to it: a clone under a folder
# only root may enter (root's home, a 0700 temp folder, a umask of 077) does not allow that.
# Then the files go to a folder of their own in the postgres user's home, named after the run
# folder, and $RUN_DIR/postgres is a symbolic link to it. Sets PG_DIR and PG_DATA.
pg_outside_dir() {
	local home
	home=$(getent passwd postgres | cut -d: -f6)
	[[ -n $home && -d $home ]] || die "postgres: the postgres user has no home folder"
	say "$home/open-badges/$(printf '%s' "$RUN_DIR" | sha256sum | cut -c1-16)"
}

pg_reaches_run_dir() { (cd / && runuser -u postgres -- test -x "$RUN_DIR") 2>/dev/null; }

locate_postgres() {
	if [[ -L $PG_LINK ]]; then
		PG_DIR=$(readlink -f "$PG_LINK")
	else
		PG_DIR=$PG_LINK
	fi
	PG_DATA=$PG_DIR/data
}

# Before the first initdb (no cluster yet): decide where the files go (see locate_postgres).
place_postgres() {
	local outside
	((EUID == 0)) || return 0
	[[ -L $PG_LINK ]] && return 0
	mkdir -p "$RUN_DIR"
	pg_reaches_run_dir && return 0
	# A folder left by an earlier start that failed here holds no cluster: it goes.
	[[ -d $PG_LINK ]] && rm -rf -- "$PG_LINK"
	outside=$(pg_outside_dir)
	if [[ -d $outside ]]; then
		# Left by a run folder of the same path that was deleted: its database went with it.
		if [[ -f $outside/data/postmaster.pid ]] &&
			as_pg "$PG_BIN/pg_ctl" -D "$outside/data" status >/dev/null 2>&1; then
			die "postgres: a server still runs from $outside (its run folder $RUN_DIR was deleted); stop it: runuser -u postgres -- $PG_BIN/pg_ctl -D $outside/data stop"
		fi
		say "postgres: removing $outside, left from a deleted run folder at $RUN_DIR"
		rm -rf -- "$outside"
	fi
	say "postgres: the postgres user cannot enter $RUN_DIR; keeping its files in $outside"
	mkdir -p "$outside"
	chown postgres:postgres "$(dirname "$outside")" "$outside"
	chmod 700 "$outside"
	ln -s "$outside" "$PG_LINK"
	locate_postgres
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 2; }

# Debian's own cluster tooling (pg_createcluster) keeps clusters under /etc and /var/lib;
# calling initdb/pg_ctl from the same packages instead keeps the whole database in the run
# folder, so another RUN_DIR is another database and deleting the folder resets it.
init_postgres() {
	local out
	[[ -s $PG_DATA/PG_VERSION ]] && return 0
	place_postgres
	say "postgres: creating a PostgreSQL $PG_VERSION cluster in $PG_DATA"
	mkdir -p "$PG_DATA"
	chmod 700 "$PG_DATA"
	if ((EUID == 0)); then
		chown postgres:postgres "$PG_DIR" "$PG_DATA"
	fi
	out=$(as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth-local=peer --auth-host=scram-sha-256 2>&1) || {
		printf '%s\n' "$out" >&2
		die "postgres: initdb failed in $PG_DATA (output above)"
	}
	# Port, addresses and socket folder live in a file rewritten at each start (see below).
	say "include_if_exists = 'infra.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

start_postgres() {
	local data_version
	find_postgres
	locate_postgres
	init_postgres
	data_version=$(<"$PG_DATA/PG_VERSION")
	[[ $data_version == "$PG_VERSION" ]] ||
		die "postgres: $PG_DATA was made by PostgreSQL $data_version but $PG_VERSION is installed"

	if pg_running; then
		say "postgres: already running"
	else
		require_free_ports postgres "$PG_PORT"
		as_pg tee "$PG_DATA/infra.conf" >/dev/null <<EOF
# Written by deploy/local/infra.sh at each start.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
# Every test module starts a platform of its own, each service with a pool: room for several.
max_connections = 300
EOF
		say "postgres: starting on $HOST:$PG_PORT"
		mark_logs "$LOGS/postgres.log"
		# Only a server this script started is stopped by `stop`; marked before it starts, so
		# that a start which fails half-way is stopped too.
		touch "$PG_MARKER"
		started postgres
		# pg_ctl detaches the server (own session) and -w waits for it to accept connections.
		# The log is opened here, by this shell, and inherited by the server: the postgres
		# user may not be allowed to open a file in the run folder itself.
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 start >>"$LOGS/postgres.log" 2>&1 9>&- ||
			{
				show_logs "$LOGS/postgres.log"
				die "postgres: pg_ctl start failed (logs above)"
			}
	fi
	wait_until postgres 60 "" pg_ready

	# Role and database, idempotently (\gexec runs the CREATE only when the SELECT finds none).
	as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres \
		-d postgres >/dev/null <<'SQL'
SELECT 'CREATE ROLE badges' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'badges')
\gexec
ALTER ROLE badges WITH LOGIN CREATEDB PASSWORD 'badges';
SELECT 'CREATE DATABASE badges OWNER badges'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'badges')
\gexec
SQL
	say "postgres: ready on $HOST:$PG_PORT (PostgreSQL $PG_VERSION, database badges)"
}

stop_postgres() {
	find_postgres
	locate_postgres
	if ! pg_running; then
		rm -f "$PG_MARKER"
		say "postgres: not running"
	elif [[ ! -f $PG_MARKER ]]; then
		say "postgres: running but not started by infra.sh, left alone"
	else
		say "postgres: stopping"
		# pg_ctl signals the pid in the cluster's own postmaster.pid. "fast" ends client
		# sessions instead of waiting for them; "immediate" only if that does not finish.
		as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
			as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null
		rm -f "$PG_MARKER"
		say "postgres: stopped"
	fi
}

# --- mailbox -----------------------------------------------------------------------------------

mailbox_ready() {
	"$PY" - "$HOST" "$SMTP_PORT" "$MAILBOX_HTTP_PORT" >/dev/null 2>&1 <<'EOF'
import smtplib
import sys
import urllib.request

host, smtp_port, http_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with smtplib.SMTP(host, smtp_port, timeout=2) as smtp:
    code, _ = smtp.ehlo()
    if code != 250:
        sys.exit(1)
urllib.request.urlopen(f"http://{host}:{http_port}/health", timeout=2).read()
EOF
}

start_mailbox() {
	local pid
	if pid=$(running_pid mailbox "$MAILBOX_SIGNATURE"); then
		say "mailbox: already running (pid $pid)"
	else
		require_free_ports mailbox "$SMTP_PORT" "$MAILBOX_HTTP_PORT"
		mkdir -p "$MAILBOX_DIR"
		say "mailbox: starting on smtp $HOST:$SMTP_PORT, http $HOST:$MAILBOX_HTTP_PORT"
		mark_logs "$LOGS/mailbox.log"
		# -u: unbuffered, so the log file is current.
		launch mailbox "$LOGS/mailbox.log" "$PY" -u "$HERE/mailbox.py" --dir "$MAILBOX_DIR" \
			--host "$HOST" --smtp-port "$SMTP_PORT" --http-port "$MAILBOX_HTTP_PORT"
		pid=$(<"$PIDS/mailbox.pid")
	fi
	wait_until mailbox 30 "$pid" mailbox_ready
	say "mailbox: ready, messages in $MAILBOX_DIR, view at http://$HOST:$MAILBOX_HTTP_PORT"
}

# --- commands ----------------------------------------------------------------------------------

# start and stop take a lock on the run folder: two sessions starting at the same moment would
# otherwise both find Kafka down and both launch one. Held on fd 9 until this script exits;
# processes we launch close fd 9 so they do not keep holding it.
lock_run_dir() {
	mkdir -p "$RUN_DIR"
	exec 9>"$RUN_DIR/.infra.lock"
	if ! flock -n 9; then
		say "waiting for another infra.sh start/stop on $RUN_DIR"
		flock -w 300 9 || die "another infra.sh still holds $RUN_DIR/.infra.lock"
	fi
}

# On a failed start: stop what this start launched, newest first, so nothing is left running
# half set up; what was already running before is left alone.
undo_failed_start() {
	local status=$? i
	((status != 0 && ${#STARTED[@]})) || return 0
	printf 'infra.sh: start failed; stopping what it launched: %s\n' "${STARTED[*]}" >&2
	for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
		stop_part "${STARTED[i]}" >&2 || true
	done
	exit "$status"
}

cmd_start() {
	require_venv
	lock_run_dir
	mkdir -p "$LOGS" "$PIDS"
	trap undo_failed_start EXIT
	# Kafka is the slowest to come up: launch it first and let it boot while the others start.
	launch_kafka
	start_postgres
	start_mailbox
	wait_kafka
	say "all up; run folder $RUN_DIR"
}

stop_part() {
	case $1 in
	mailbox) stop_process mailbox "$MAILBOX_SIGNATURE" 10 ;;
	# Kafka gets time for its controlled shutdown before SIGKILL.
	kafka) stop_process kafka "$KAFKA_SIGNATURE" 60 ;;
	postgres) stop_postgres ;;
	*) die "no part named '$1' (kafka, postgres, mailbox)" ;;
	esac
}

cmd_stop() {
	local parts=("$@") part
	# All of them, in the reverse order of start.
	((${#parts[@]})) || parts=(mailbox kafka postgres)
	lock_run_dir
	for part in "${parts[@]}"; do
		stop_part "$part"
	done
}

cmd_delete() {
	local outside="" service pid
	[[ -d $RUN_DIR ]] || {
		say "nothing to delete: no $RUN_DIR"
		return 0
	}
	# Only a folder this script made (it takes its lock there), never one given by mistake.
	[[ -e $RUN_DIR/.infra.lock ]] || die "$RUN_DIR is not a run folder (no .infra.lock); not deleting it"
	for service in activity badge evidence notifier; do
		pid=$(cat "$PIDS/$service.pid" 2>/dev/null) || continue
		[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
			die "the $service service still runs (pid $pid): stop the platform first (deploy/local/down.sh)"
	done
	[[ -L $PG_LINK ]] && outside=$(readlink -f "$PG_LINK")
	cmd_stop
	exec 9>&-
	if [[ -n $outside && $outside == */open-badges/* ]]; then
		rm -rf -- "$outside"
	fi
	rm -rf -- "$RUN_DIR"
	say "deleted $RUN_DIR${outside:+ and $outside}"
}

cmd_status() {
	local down=0 pid
	if pid=$(running_pid kafka "$KAFKA_SIGNATURE") && port_open "$KAFKA_PORT"; then
		say "kafka     up    pid $pid, $HOST:$KAFKA_PORT"
	else
		say "kafka     down"
		down=1
	fi
	find_postgres
	locate_postgres
	if pg_running && port_open "$PG_PORT"; then
		local who="started by infra.sh"
		[[ -f $PG_MARKER ]] || who="not started by infra.sh"
		say "postgres  up    pid $(head -n 1 "$PG_DATA/postmaster.pid"), $HOST:$PG_PORT ($who)"
	else
		say "postgres  down"
		down=1
	fi
	if pid=$(running_pid mailbox "$MAILBOX_SIGNATURE") && port_open "$SMTP_PORT"; then
		say "mailbox   up    pid $pid, smtp $HOST:$SMTP_PORT, http $HOST:$MAILBOX_HTTP_PORT"
	else
		say "mailbox   down"
		down=1
	fi
	return $((down ? 3 : 0))
}

cmd_env() {
	cat <<EOF
export KAFKA_BOOTSTRAP_SERVERS=$HOST:$KAFKA_PORT
export DATABASE_URL=postgresql://badges:badges@$HOST:$PG_PORT/badges
export SMTP_HOST=$HOST
export SMTP_PORT=$SMTP_PORT
export MAILBOX_DIR=$MAILBOX_DIR
export MAILBOX_URL=http://$HOST:$MAILBOX_HTTP_PORT
EOF
}

case ${1:-} in
start) cmd_start ;;
stop)
	shift
	cmd_stop "$@"
	;;
status) cmd_status ;;
env) cmd_env ;;
delete) cmd_delete ;;
*)
	say "usage: $0 start|stop [PART...]|status|env|delete" >&2
	exit 2
	;;
esac
