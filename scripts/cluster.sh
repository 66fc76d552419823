#!/usr/bin/env bash
# cluster.sh — run several riskzone replicas on one database, on loopback
# ports, behind nothing (for tests, demos and the load benchmark; see
# docs/operations.md).
#
#   scripts/cluster.sh start    start REPLICAS replicas on BASE_PORT, BASE_PORT+1, ...
#   scripts/cluster.sh stop     stop them (SIGTERM, graceful)
#   scripts/cluster.sh status   show which answer /readyz
#
# Environment: REPLICAS (default 3), BASE_PORT (default 8081), BIN (default
# bin/riskzone), RISKZONE_PG_PORT / DATABASE_URL as for the binary; extra
# serve flags in SERVE_FLAGS; the replicas listen on loopback over plain http,
# so they run as RISKZONE_INSECURE_DEV=1 unless told otherwise. Logs and pid files go to CLUSTER_DIR (default
# .data/cluster/); stop and status act on the replicas listed there.
#
# STANDBYS=1|2 (default 0) also starts that many hot standbys of the managed
# cluster (riskzone db standby, named cluster1, cluster2; on STANDBY_PORT,
# STANDBY_PORT+1 when set, else the first free ports above the primary's)
# and prints their URLs; stop stops them too (their data folders stay, for
# the next start). Serve does not read from them yet (docs/operations.md,
# "Standbys"). Needs the managed cluster: not with DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
REPLICAS=${REPLICAS:-3}
BASE_PORT=${BASE_PORT:-8081}
BIN=${BIN:-bin/riskzone}
DIR=${CLUSTER_DIR:-.data/cluster}
STANDBYS=${STANDBYS:-0}
mkdir -p "$DIR"

# check_standbys refuses a bad STANDBYS before anything starts.
check_standbys() {
	case "$STANDBYS" in
	0 | 1 | 2) ;;
	*) echo "cluster: STANDBYS=$STANDBYS: want 0, 1 or 2" >&2; exit 2 ;;
	esac
	if [ "$STANDBYS" != 0 ] && [ -n "${DATABASE_URL:-}" ]; then
		echo "cluster: STANDBYS needs the managed cluster; with DATABASE_URL use your PostgreSQL service's read replicas" >&2
		exit 2
	fi
}

standbys() {
	[ "$STANDBYS" != 0 ] || return 0
	for i in $(seq 1 "$STANDBYS"); do
		name=cluster$i
		# A standby from an earlier start resumes from its slot; only a
		# missing one is copied anew.
		if ! out=$("$BIN" db standby start "$name" 2>&1); then
			case "$out" in
			*"no such standby"*)
				portflag=()
				[ -n "${STANDBY_PORT:-}" ] && portflag=(--port $((STANDBY_PORT + i - 1)))
				out=$("$BIN" db standby create --name "$name" "${portflag[@]}" 2>&1) || { echo "cluster: standby $name: $out" >&2; exit 1; } ;;
			*) echo "cluster: standby $name: $out" >&2; exit 1 ;;
			esac
		fi
		echo "$name" >>"$DIR/standbys"
		sort -u -o "$DIR/standbys" "$DIR/standbys"
		echo "$out" | sed '$d'
		echo "standby $i: $(echo "$out" | tail -n 1)"
	done
}

start() {
	[ -x "$BIN" ] || { echo "cluster: $BIN is missing: run make build" >&2; exit 1; }
	check_standbys
	"$BIN" migrate >/dev/null
	standbys
	for i in $(seq 0 $((REPLICAS - 1))); do
		port=$((BASE_PORT + i))
		pidf="$DIR/replica-$port.pid"
		if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
			echo "replica on 127.0.0.1:$port already runs (pid $(cat "$pidf"))"
			continue
		fi
		# Another server on the port would answer /readyz for a replica that
		# could not listen.
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "cluster: port $port is taken by another server; pick another BASE_PORT" >&2
			exit 1
		fi
		# shellcheck disable=SC2086
		RISKZONE_INSECURE_DEV=${RISKZONE_INSECURE_DEV:-1} nohup "$BIN" serve --addr "127.0.0.1:$port" --log-format json ${SERVE_FLAGS:-} >"$DIR/replica-$port.log" 2>&1 &
		echo $! >"$pidf"
	done
	for i in $(seq 0 $((REPLICAS - 1))); do
		port=$((BASE_PORT + i))
		pid=$(cat "$DIR/replica-$port.pid")
		for _ in $(seq 1 100); do
			# A replica that exited (a port taken by another server, a bad
			# flag) must not pass for ready because something else answers.
			if ! kill -0 "$pid" 2>/dev/null; then
				rm -f "$DIR/replica-$port.pid"
				echo "cluster: replica on port $port exited: $(tail -n 1 "$DIR/replica-$port.log")" >&2
				exit 1
			fi
			if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then
				echo "replica $((i + 1)): http://127.0.0.1:$port/ (pid $(cat "$DIR/replica-$port.pid"), log $DIR/replica-$port.log)"
				continue 2
			fi
			sleep 0.2
		done
		echo "cluster: replica on port $port is not ready; see $DIR/replica-$port.log" >&2
		exit 1
	done
}

stop() {
	for pidf in "$DIR"/replica-*.pid; do
		[ -e "$pidf" ] || continue
		pid=$(cat "$pidf")
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid"
			for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			echo "stopped pid $pid"
		fi
		rm -f "$pidf"
	done
	if [ -f "$DIR/standbys" ]; then
		while read -r name; do
			"$BIN" db standby stop "$name" >/dev/null 2>&1 && echo "stopped standby $name"
		done <"$DIR/standbys"
		rm -f "$DIR/standbys"
	fi
}

status() {
	for pidf in "$DIR"/replica-*.pid; do
		[ -e "$pidf" ] || { echo "no replicas"; return; }
		port=${pidf##*/replica-}; port=${port%.pid}
		if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then s=ready; else s="not ready"; fi
		echo "127.0.0.1:$port pid $(cat "$pidf"): $s"
	done
	if [ -f "$DIR/standbys" ]; then "$BIN" db standby status; fi
}

case "${1:-start}" in
start) start ;;
stop) stop ;;
status) status ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
