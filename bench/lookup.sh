#!/usr/bin/env bash
# bench/lookup.sh — load test of the public lookup on loopback with wrk.
#
# Creates a database of its own (riskzone_bench on the managed cluster, or
# BENCH_DATABASE_URL), loads the demo city with its story (published zones),
# serves on 127.0.0.1:${BENCH_PORT:-18080} with warn-level logs, and runs wrk
# against a point inside a zone, a point outside every zone, an address, and
# 2,000 distinct points, at 8, 16 and 32 connections (BENCH_CONNECTIONS):
# first on the main address (echo on net/http), then the same four on the
# fast listener (--fast-addr, fasthttp; rows L-*).
# Baseline, measured in the same run with the same wrk settings: nginx (Debian
# package) answering every lookup path with one fixed JSON answer of the same
# size from its configuration (`return 200`), no access log, as many workers
# as the server has cores (GOMAXPROCS): the fastest an HTTP answer comes on
# this machine. The machines are noisy; the ratio to nginx is the figure to
# compare between runs.
# Bounded: each run lasts ${BENCH_SECONDS:-15} s; the server and the
# database are removed at the end.
#
#   bench/lookup.sh                       # 20,000 buildings
#   BENCH_BUILDINGS=100000 bench/lookup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

need=""
command -v wrk >/dev/null || need="$need wrk"
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need="$need nginx"
if [ -n "$need" ]; then
	echo "installing$need (Debian packages)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

out=bench/out
mkdir -p "$out"
go build -o "$out/riskzone" ./cmd/riskzone
bin="$out/riskzone"
port=${BENCH_PORT:-18080}
nginx_port=$((port + 1))
lookup_port=$((port + 2))
secs=${BENCH_SECONDS:-15}
conns=${BENCH_CONNECTIONS:-8 16 32} # one run per count

main_url=$("$bin" db url --migrations)
url=${BENCH_DATABASE_URL:-${main_url%/*}/riskzone_bench?sslmode=disable}
admin_url=${main_url%/*}/postgres?sslmode=disable
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench WITH (FORCE)' -c 'CREATE DATABASE riskzone_bench'
fi
export DATABASE_URL="$url"
"$bin" migrate >/dev/null
"$bin" demo --buildings "${BENCH_BUILDINGS:-20000}" --seed 1 --replace >"$out/lookup-demo.out" 2>"$out/lookup-demo.log"
tail -n 1 "$out/lookup-demo.out"

"$bin" serve --limit-exempt-loopback --addr "127.0.0.1:$port" --insecure-dev --fast-addr "127.0.0.1:$lookup_port" --log-level warn >"$out/lookup-serve.log" 2>&1 &
pid=$!
nginx_pid=""
cleanup() {
	kill "$pid" $nginx_pid 2>/dev/null || true
	wait "$pid" $nginx_pid 2>/dev/null || true
	if [ -z "${BENCH_DATABASE_URL:-}" ]; then
		psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench WITH (FORCE)' || true
	fi
}
trap cleanup EXIT
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$lookup_port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done

read -r in_lon in_lat < <(psql -qAt -F ' ' "$url" -c "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1) x")
read -r out_lon out_lat < <(psql -qAt -F ' ' "$url" -c "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Difference(a.geom, (SELECT ST_Buffer(ST_Union(geom), 0.001) FROM public_zone_versions WHERE status = 'active'))) p FROM admin_areas a WHERE level = 'county' LIMIT 1) x")
addr=$(psql -qAt "$url" -c "SELECT b.addr_compound || b.addr_number || '号楼' FROM public_zone_versions p JOIN buildings b ON b.id = p.building_ids[1] WHERE p.status = 'active' ORDER BY p.zone_id LIMIT 1")
zones=$(psql -qAt "$url" -c "SELECT count(*) FROM public_zone_versions WHERE status = 'active'")
q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$addr")
answer=$(curl -fsS "http://127.0.0.1:$port/api/v1/public/lookup?lon=$in_lon&lat=$in_lat") # builds the index

# The baseline: nginx with the answer of the point inside a zone in its
# configuration, one worker per core the server may use.
workers=${GOMAXPROCS:-$(nproc)}
mkdir -p "$out/nginx"
esc=${answer//\\/\\\\}
esc=${esc//\'/\\\'}
cat >"$out/nginx/nginx.conf" <<NGINX
worker_processes $workers;
error_log $PWD/$out/nginx/error.log warn;
pid $PWD/$out/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nginx_port;
        location = /api/v1/public/lookup {
            default_type application/json;
            add_header Cache-Control "public, max-age=10";
            add_header Access-Control-Allow-Origin "*";
            return 200 '$esc\n';
        }
    }
}
NGINX
"$nginx_bin" -p "$PWD/$out/nginx" -c "$PWD/$out/nginx/nginx.conf" -g 'daemon off;' 2>"$out/nginx/stderr.log" &
nginx_pid=$!
for _ in $(seq 1 50); do
	curl -fsS "http://127.0.0.1:$nginx_port/api/v1/public/lookup?lon=1&lat=1" >/dev/null 2>&1 && break
	sleep 0.1
done

# 2,000 distinct points: half on zoned buildings, half anywhere in the
# county, so the answers are not one cached line of the CPU.
psql -qAt -F ' ' "$url" -c "
	(SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(b.geom) p FROM public_zone_versions z
	   JOIN buildings b ON b.id = ANY (z.building_ids) WHERE z.status = 'active' ORDER BY random() LIMIT 1000) x)
	UNION ALL
	(SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints((SELECT geom FROM admin_areas WHERE level = 'county' ORDER BY id LIMIT 1), 1000, 1))).geom p) y)" |
	awk '{ printf "/api/v1/public/lookup?lon=%.6f&lat=%.6f\n", $1, $2 }' >"$out/lookup-points.txt"
cat >"$out/lookup-paths.lua" <<'LUA'
-- Cycles through the paths of a file (wrk ... -s lookup-paths.lua -- FILE).
local paths, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA

echo "public zones: $zones; $(wc -l <"$out/lookup-points.txt") distinct points; 1 wrk thread, ${secs}s each; $(nproc) cores; server GOMAXPROCS=${GOMAXPROCS:-default}; nginx workers $workers; answer ${#answer} bytes"
printf '%-10s %6s %10s %9s %9s\n' run conns req/s p50_ms p99_ms
# run NAME CONNS URL [SCRIPT FILE]: one bounded wrk run, one line of numbers.
run() {
	local name=$1 c=$2 target=$3
	local args=("$target")
	[ -z "${4:-}" ] || args=(-s "$4" "$target" -- "$5")
	wrk -t1 -c"$c" -d"${secs}s" --latency "${args[@]}" >"$out/lookup-$name-$c.txt" 2>&1
	awk -v name="$name" -v c="$c" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
		/Non-2xx/ { bad = $4 }
		END { printf "%-10s %6d %10.0f %9.2f %9.2f%s\n", name, c, rps, p50, p99, (bad ? "  non-2xx " bad : "") }' "$out/lookup-$name-$c.txt"
}
base="http://127.0.0.1:$port/api/v1/public/lookup"
for c in $conns; do
	run inside "$c" "$base?lon=$in_lon&lat=$in_lat"
	run outside "$c" "$base?lon=$out_lon&lat=$out_lat"
	run address "$c" "$base?q=$q"
	run points "$c" "http://127.0.0.1:$port" "$out/lookup-paths.lua" "$out/lookup-points.txt"
	fast="http://127.0.0.1:$lookup_port/api/v1/public/lookup"
	run L-inside "$c" "$fast?lon=$in_lon&lat=$in_lat"
	run L-outside "$c" "$fast?lon=$out_lon&lat=$out_lat"
	run L-address "$c" "$fast?q=$q"
	run L-points "$c" "http://127.0.0.1:$lookup_port" "$out/lookup-paths.lua" "$out/lookup-points.txt"
	run nginx "$c" "http://127.0.0.1:$nginx_port" "$out/lookup-paths.lua" "$out/lookup-points.txt"
	for name in inside outside address points L-inside L-outside L-address L-points; do
		awk -v name="$name" '/Requests\/sec/ { r[FILENAME] = $2 } END { for (f in r) if (f ~ /nginx/) n = r[f]; else v = r[f]; printf "  %s / nginx: %.2fx\n", name, v / n }' \
			"$out/lookup-$name-$c.txt" "$out/lookup-nginx-$c.txt"
	done
done
echo "(load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
