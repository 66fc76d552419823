#!/usr/bin/env bash
# bench/lookup.sh — load test of the public lookup on loopback with wrk.
#
# Creates a database of its own (riskzone_bench on the managed cluster, or
# BENCH_DATABASE_URL), loads the demo city with its story (published zones),
# serves on 127.0.0.1:${BENCH_PORT:-18080} with warn-level logs, and runs wrk
# against a point inside a zone, a point outside every zone, and an address.
# Bounded: each run lasts ${BENCH_SECONDS:-15} s; the server and the
# database are removed at the end.
#
#   bench/lookup.sh                       # 20,000 buildings
#   BENCH_BUILDINGS=100000 bench/lookup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
	echo "installing wrk (Debian package)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

out=bench/out
mkdir -p "$out"
go build -o "$out/riskzone" ./cmd/riskzone
bin="$out/riskzone"
port=${BENCH_PORT:-18080}
secs=${BENCH_SECONDS:-15}
conns=${BENCH_CONNECTIONS:-32}

main_url=$("$bin" db url)
url=${BENCH_DATABASE_URL:-${main_url%/*}/riskzone_bench?sslmode=disable}
admin_url=${main_url%/*}/postgres?sslmode=disable
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench WITH (FORCE)' -c 'CREATE DATABASE riskzone_bench'
fi
export DATABASE_URL="$url"
"$bin" migrate >/dev/null
"$bin" demo --buildings "${BENCH_BUILDINGS:-20000}" --seed 1 --replace >"$out/lookup-demo.out" 2>"$out/lookup-demo.log"
tail -n 1 "$out/lookup-demo.out"

"$bin" serve --addr "127.0.0.1:$port" --log-level warn >"$out/lookup-serve.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	if [ -z "${BENCH_DATABASE_URL:-}" ]; then
		psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench WITH (FORCE)' || true
	fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

read -r in_lon in_lat < <(psql -qAt -F ' ' "$url" -c "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1) x")
read -r out_lon out_lat < <(psql -qAt -F ' ' "$url" -c "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Difference(a.geom, (SELECT ST_Buffer(ST_Union(geom), 0.001) FROM public_zone_versions WHERE status = 'active'))) p FROM admin_areas a WHERE level = 'county' LIMIT 1) x")
addr=$(psql -qAt "$url" -c "SELECT b.addr_compound || b.addr_number || '号楼' FROM public_zone_versions p JOIN buildings b ON b.id = p.building_ids[1] WHERE p.status = 'active' ORDER BY p.zone_id LIMIT 1")
zones=$(psql -qAt "$url" -c "SELECT count(*) FROM public_zone_versions WHERE status = 'active'")
q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$addr")
curl -fsS "http://127.0.0.1:$port/api/v1/public/lookup?lon=$in_lon&lat=$in_lat" >/dev/null # builds the index

echo "public zones: $zones; $conns connections, 1 wrk thread, ${secs}s each"
for target in "inside lon=$in_lon&lat=$in_lat" "outside lon=$out_lon&lat=$out_lat" "address q=$q"; do
	name=${target%% *}
	query=${target#* }
	echo "== $name"
	wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/api/v1/public/lookup?$query" | tee "$out/lookup-$name.txt" |
		grep -E 'Requests/sec|99%|50%|Non-2xx|Socket errors' || true
done
