#!/usr/bin/env bash
# bench/tiles.sh — load test of the vector tiles on loopback (docs/tiles.md).
#
# Creates a database of its own (riskzone_bench_tiles on the managed cluster,
# or BENCH_DATABASE_URL), loads a demo city of BENCH_BUILDINGS (100,000)
# buildings and publishes BENCH_ZONES (300) more community zones, then
# serves the same tiles five ways on 127.0.0.1:
#
#   riskzone warm   tile cache on, cache filled first           (tileload serve)
#   warm-fast       the same process's fast listener (serve --fast-addr:
#                   warm public tiles on fasthttp, the same bytes and headers)
#   warm-1proc      the same with GOMAXPROCS=1: on a 2-core machine shared
#                   with the load generator (or with PostGIS), one P keeps
#                   the tail latency down (docs/tiles.md); warm-fast-1proc
#                   its fast listener
#   nginx           the same tiles written to disk, with the http settings of
#                   Debian's stock nginx.conf: sendfile, tcp_nopush, access
#                   log, gzip, default keepalive                  (Debian nginx)
#   nginx-tuned     the same, tuned for static files: no access log, an open
#                   file cache, unlimited keepalive (for reference)
#   riskzone cold   tile cache off: every request rendered      (tileload serve --no-cache)
#   baseline        one ST_AsMVT query per tile over a pool     (bench/baseline-tileserver)
#
# and runs wrk over >= 500 distinct z14-z16 tiles (a third per zoom, fixed
# seed) of the buildings and of the zones layer: warm against nginx, cold
# against the baseline, all in the same invocation. Bounded: every wrk run
# lasts BENCH_SECONDS (10) with BENCH_CONNECTIONS (16) connections and one
# thread; the servers and the database are removed at the end
# (BENCH_KEEP_DB=1 keeps the database). wrk and nginx are installed with
# apt-get when missing.
#
#   bench/tiles.sh
#   BENCH_BUILDINGS=20000 BENCH_SECONDS=5 bench/tiles.sh
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
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

out=bench/out/tiles
rm -rf "$out"
mkdir -p "$out/www" "$out/nginx" "$out/nginx-tuned"
go build -o "$out/riskzone" ./cmd/riskzone
go build -o "$out/tileload" ./bench/tileload
go build -o "$out/baseline-tileserver" ./bench/baseline-tileserver

secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-16}
ntiles=${BENCH_TILES:-600}
warm_port=18801 cold_port=18802 base_port=18803 nginx_port=18804 tuned_port=18805 warm1_port=18806 fast_port=18807 fast1_port=18808

main_url=$("$out/riskzone" db url --migrations)
url=${BENCH_DATABASE_URL:-${main_url%/*}/riskzone_bench_tiles?sslmode=disable}
admin_url=${main_url%/*}/postgres?sslmode=disable
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench_tiles WITH (FORCE)' -c 'CREATE DATABASE riskzone_bench_tiles'
fi
export DATABASE_URL="$url"

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -z "${BENCH_DATABASE_URL:-}" ] && [ -z "${BENCH_KEEP_DB:-}" ]; then
		psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench_tiles WITH (FORCE)' || true
	fi
}
trap cleanup EXIT

"$out/riskzone" migrate >/dev/null
echo "loading the demo city (${BENCH_BUILDINGS:-100000} buildings)" >&2
"$out/riskzone" demo --buildings "${BENCH_BUILDINGS:-100000}" --seed 1 --replace >"$out/demo.out" 2>"$out/demo.log"
psql -q "$url" -c "SET riskzone.publish_zones = ${BENCH_ZONES:-300}" -f tiles/pgsource/testdata/publish_zones.sql
psql -q "$url" -c 'ANALYZE'

wait_up() {
	for _ in $(seq 1 200); do
		curl -fsS -o /dev/null "http://127.0.0.1:$1/${2:-healthz}" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing answers on port $1" >&2
	return 1
}

"$out/tileload" serve --addr "127.0.0.1:$warm_port" --fast-addr "127.0.0.1:$fast_port" --log "$out/warm-requests.log" 2>"$out/warm.log" &
pids+=($!)
GOMAXPROCS=1 "$out/tileload" serve --addr "127.0.0.1:$warm1_port" --fast-addr "127.0.0.1:$fast1_port" --log "$out/warm1-requests.log" 2>"$out/warm1.log" &
pids+=($!)
"$out/tileload" serve --addr "127.0.0.1:$cold_port" --no-cache --log "$out/cold-requests.log" 2>"$out/cold.log" &
pids+=($!)
"$out/baseline-tileserver" --dsn "$url" --addr "127.0.0.1:$base_port" 2>"$out/baseline.log" &
pids+=($!)

# nginx as Debian ships it (the http block of /etc/nginx/nginx.conf), on a
# loopback port with the tiles as its root; and a tuned one.
cat >"$out/nginx/nginx.conf" <<NGINX
worker_processes auto;
error_log $PWD/$out/nginx/error.log warn;
pid $PWD/$out/nginx/nginx.pid;
events { worker_connections 768; }
http {
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    types { application/vnd.mapbox-vector-tile mvt; }
    default_type application/octet-stream;
    access_log $PWD/$out/nginx/access.log;
    gzip on;
    server {
        listen 127.0.0.1:$nginx_port;
        root $PWD/$out/www;
    }
}
NGINX
cat >"$out/nginx-tuned/nginx.conf" <<NGINX
worker_processes auto;
error_log $PWD/$out/nginx-tuned/error.log warn;
pid $PWD/$out/nginx-tuned/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    open_file_cache max=10000;
    types { application/vnd.mapbox-vector-tile mvt; }
    server {
        listen 127.0.0.1:$tuned_port;
        root $PWD/$out/www;
    }
}
NGINX
for conf in nginx nginx-tuned; do
	"$nginx_bin" -p "$PWD/$out/$conf" -c "$PWD/$out/$conf/nginx.conf" -g 'daemon off;' 2>"$out/$conf/stderr.log" &
	pids+=($!)
done
wait_up $warm_port
wait_up $warm1_port
wait_up $fast_port
wait_up $fast1_port
wait_up $cold_port
wait_up $base_port "tiles/buildings/0/0/0.mvt"

# Pick the tiles (this fills the warm server's cache and writes nginx's files).
for layer in buildings zones; do
	"$out/tileload" tiles --server "http://127.0.0.1:$warm_port" --layer $layer --n "$ntiles" \
		--www "$out/www" --out "$out/paths-$layer.txt"
done
wait_up $nginx_port "$(head -n 1 "$out/paths-buildings.txt")"
wait_up $tuned_port "$(head -n 1 "$out/paths-buildings.txt")"

cat >"$out/paths.lua" <<'LUA'
-- Cycles through the paths of a file (wrk ... -s paths.lua -- FILE).
local paths, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA

# run NAME PORT PATHS: one bounded wrk run; prints "name req/s p50 p99 non-2xx" (ms).
run() {
	local name=$1 port=$2 paths=$3
	wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$out/paths.lua" "http://127.0.0.1:$port" -- "$paths" >"$out/wrk-$name.txt" 2>&1
	awk -v name="$name" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%s %.0f %.2f %.2f %s\n", name, rps, p50, p99, (bad == "" ? 0 : bad) }' "$out/wrk-$name.txt"
}

# Fill the regions of the cold servers (first reads) and the second warm
# server's cache before measuring.
for layer in buildings zones; do
	wrk -t1 -c4 -d2s -s "$out/paths.lua" "http://127.0.0.1:$warm1_port" -- "$out/paths-$layer.txt.v" >/dev/null
	wrk -t1 -c4 -d2s -s "$out/paths.lua" "http://127.0.0.1:$cold_port" -- "$out/paths-$layer.txt.v" >/dev/null
	wrk -t1 -c4 -d2s -s "$out/paths.lua" "http://127.0.0.1:$base_port" -- "$out/paths-$layer.txt" >/dev/null
done

ratio() { echo "$1 / $2" | bc -l; }
echo
echo "$(wc -l <"$out/paths-buildings.txt") building tiles, $(wc -l <"$out/paths-zones.txt") zone tiles (z14-z16); wrk: 1 thread, $conns connections, ${secs}s per run; $(nproc) cores"
printf '%-26s %10s %9s %9s %9s   %s\n' run "tiles/s" "p50 ms" "p99 ms" non-2xx ratio
for layer in buildings zones; do
	read -r n1 nginx_rps n1p50 n1p99 n1bad < <(run "nginx-$layer" $nginx_port "$out/paths-$layer.txt")
	read -r n2 warm_rps w50 w99 wbad < <(run "warm-$layer" $warm_port "$out/paths-$layer.txt.v")
	read -r n6 warm1_rps v50 v99 vbad < <(run "warm-1proc-$layer" $warm1_port "$out/paths-$layer.txt.v")
	read -r n7 fast_rps f50 f99 fbad < <(run "warm-fast-$layer" $fast_port "$out/paths-$layer.txt.v")
	read -r n8 fast1_rps g50 g99 gbad < <(run "warm-fast-1proc-$layer" $fast1_port "$out/paths-$layer.txt.v")
	read -r n5 tuned_rps t50 t99 tbad < <(run "nginx-tuned-$layer" $tuned_port "$out/paths-$layer.txt")
	read -r n3 base_rps b50 b99 bbad < <(run "baseline-$layer" $base_port "$out/paths-$layer.txt")
	read -r n4 cold_rps c50 c99 cbad < <(run "cold-$layer" $cold_port "$out/paths-$layer.txt.v")
	printf '%-26s %10s %9s %9s %9s\n' "$n1" "$nginx_rps" "$n1p50" "$n1p99" "$n1bad"
	printf '%-26s %10s %9s %9s %9s   %.2fx nginx (target >= 0.7, p99 < 5 ms); %.2fx nginx-tuned\n' \
		"$n2" "$warm_rps" "$w50" "$w99" "$wbad" "$(ratio "$warm_rps" "$nginx_rps")" "$(ratio "$warm_rps" "$tuned_rps")"
	printf '%-26s %10s %9s %9s %9s   %.2fx nginx; %.2fx nginx-tuned\n' \
		"$n6" "$warm1_rps" "$v50" "$v99" "$vbad" "$(ratio "$warm1_rps" "$nginx_rps")" "$(ratio "$warm1_rps" "$tuned_rps")"
	printf '%-26s %10s %9s %9s %9s   %.2fx nginx (target >= 0.7, p99 < 5 ms); %.2fx nginx-tuned\n' \
		"$n7" "$fast_rps" "$f50" "$f99" "$fbad" "$(ratio "$fast_rps" "$nginx_rps")" "$(ratio "$fast_rps" "$tuned_rps")"
	printf '%-26s %10s %9s %9s %9s   %.2fx nginx; %.2fx nginx-tuned\n' \
		"$n8" "$fast1_rps" "$g50" "$g99" "$gbad" "$(ratio "$fast1_rps" "$nginx_rps")" "$(ratio "$fast1_rps" "$tuned_rps")"
	printf '%-26s %10s %9s %9s %9s\n' "$n5" "$tuned_rps" "$t50" "$t99" "$tbad"
	printf '%-26s %10s %9s %9s %9s\n' "$n3" "$base_rps" "$b50" "$b99" "$bbad"
	printf '%-26s %10s %9s %9s %9s   %.2fx baseline (target >= 2)\n' "$n4" "$cold_rps" "$c50" "$c99" "$cbad" "$(ratio "$cold_rps" "$base_rps")"
done
echo "(wrk outputs: $out/wrk-*.txt; load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
