#!/usr/bin/env bash
# bench/cluster.sh — mixed public load on three replicas (docs/operations.md).
#
# Creates a database of its own (riskzone_bench_cluster on the managed
# cluster, or BENCH_DATABASE_URL) with the demo city (BENCH_BUILDINGS,
# default 20000) and its story, starts REPLICAS (3) replicas on loopback with
# scripts/cluster.sh (rate limits off: the load comes from one address), warms
# them, then runs one wrk per replica for BENCH_SECONDS (60) with
# BENCH_CONNECTIONS (8) connections each over a fixed mix of paths: 80 % warm
# public tiles (z14-z16, versioned URLs from TileJSON), 15 % lookups
# (points), 5 % pages. During the run it publishes BENCH_CHANGES (10) zone
# layer changes (a version bump with NOTIFY, as a publication makes) and
# measures when each replica's TileJSON hands out the new version. RSS of the
# replicas is sampled every 5 s. Everything stops at the end; the numbers go
# to bench/out/cluster/summary.txt.
#
#   bench/cluster.sh
#   BENCH_SECONDS=20 bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-60}
conns=${BENCH_CONNECTIONS:-8}
changes=${BENCH_CHANGES:-10}
replicas=${REPLICAS:-3}
base=${BASE_PORT:-18811}
out=bench/out/cluster
rm -rf "$out"; mkdir -p "$out"
go build -o "$out/riskzone" ./cmd/riskzone
main_url=$("$out/riskzone" db url)
url=${BENCH_DATABASE_URL:-${main_url%/*}/riskzone_bench_cluster?sslmode=disable}
admin_url=${main_url%/*}/postgres?sslmode=disable
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS riskzone_bench_cluster WITH (FORCE)" -c "CREATE DATABASE riskzone_bench_cluster"
fi
export DATABASE_URL=$url
"$out/riskzone" migrate >/dev/null
"$out/riskzone" demo --seed 1 --buildings "${BENCH_BUILDINGS:-20000}" >"$out/demo.log"

stop() { BIN="$out/riskzone" scripts/cluster.sh stop >/dev/null 2>&1 || true; }
trap stop EXIT
REPLICAS=$replicas BASE_PORT=$base BIN="$out/riskzone" SERVE_FLAGS="--rate-limit 0 --log-level warn" scripts/cluster.sh start

# The paths: tiles of the public set around the zones, lookups, pages.
python3 - "$base" "$out" "$url" <<'PY'
import json, math, random, subprocess, sys, urllib.request
base, out, dsn = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tj = json.load(urllib.request.urlopen(f"http://127.0.0.1:{base}/tiles/public.json"))
v = tj["tiles"][0].split("?v=")[1]
rows = subprocess.run(["psql", "-qtA", dsn, "-c",
    "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM public_zone_versions UNION ALL "
    "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) c FROM buildings ORDER BY id LIMIT 400) b"],
    capture_output=True, text=True, check=True).stdout.split()
pts = [tuple(map(float, r.split("|"))) for r in rows]
county = subprocess.run(["psql", "-qtA", dsn, "-c", "SELECT min(id) FROM admin_areas WHERE level = 'county'"],
    capture_output=True, text=True, check=True).stdout.strip()
def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/public/{z}/{x}/{y}.mvt?v={v}"
rnd = random.Random(1)
tiles = sorted({tile(lon, lat, z) for lon, lat in pts for z in (14, 15, 16)})
mix = []
for i in range(2000):
    r = rnd.random()
    if r < 0.80:
        mix.append(rnd.choice(tiles))
    elif r < 0.95:
        lon, lat = rnd.choice(pts)
        mix.append(f"/api/v1/public/lookup?lon={lon + rnd.uniform(-1e-4, 1e-4):.6f}&lat={lat + rnd.uniform(-1e-4, 1e-4):.6f}")
    else:
        mix.append(rnd.choice(["/", "/notices", f"/counties/{county}", "/lookup?q=73"]))
open(f"{out}/paths.txt", "w").write("\n".join(mix) + "\n")
open(f"{out}/tiles.txt", "w").write("\n".join(tiles) + "\n")
print(f"{len(tiles)} distinct tiles, {len(mix)} paths in the mix")
PY

# Warm every replica's tile cache.
for i in $(seq 0 $((replicas - 1))); do
	while read -r p; do curl -fsS -o /dev/null "http://127.0.0.1:$((base + i))$p" || { echo "warm $p failed"; exit 1; }; done <"$out/tiles.txt"
done

cat >"$out/mix.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
LUA

# RSS every 5 s.
( while true; do
	line=$(date +%s)
	for f in .data/cluster/replica-*.pid; do line="$line $(ps -o rss= -p "$(cat "$f")" 2>/dev/null | tr -d ' ')"; done
	echo "$line" >>"$out/rss.txt"; sleep 5
done ) &
rss_pid=$!

for i in $(seq 0 $((replicas - 1))); do
	BENCH_PATHS="$out/paths.txt" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$out/mix.lua" "http://127.0.0.1:$((base + i))" >"$out/wrk-$i.txt" 2>&1 &
done

# Zone changes during the run: each replica must hand out the new version within 1 s.
sleep $((secs / 4))
python3 - "$base" "$replicas" "$changes" "$url" "$out" <<'PY'
import json, subprocess, sys, time, urllib.request
base, n, changes, dsn, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def version(i):
    tj = json.load(urllib.request.urlopen(f"http://127.0.0.1:{base + i}/tiles/zones.json"))
    return tj["tiles"][0].split("?v=")[1]
worst = 0.0
with open(f"{out}/changes.txt", "w") as f:
    for c in range(changes):
        before = [version(i) for i in range(n)]
        subprocess.run(["psql", "-q", dsn, "-c", "UPDATE layer_versions SET version = version + 1, changed_at = now() WHERE layer = 'zones'; NOTIFY riskzone_layers"], check=True)
        t0 = time.monotonic()
        seen = [None] * n
        while None in seen and time.monotonic() - t0 < 5:
            for i in range(n):
                if seen[i] is None and version(i) != before[i]:
                    seen[i] = time.monotonic() - t0
            time.sleep(0.005)
        f.write(f"change {c + 1}: " + " ".join("%.0f ms" % (s * 1000) if s is not None else "NOT SEEN" for s in seen) + "\n")
        worst = max([worst] + [s if s is not None else 99 for s in seen])
        time.sleep(1)
    f.write(f"worst: {worst * 1000:.0f} ms\n")
PY
wait $(jobs -p | grep -v "^$rss_pid$") 2>/dev/null || true
kill "$rss_pid" 2>/dev/null || true

{
	echo "bench/cluster.sh: $replicas replicas, ${secs}s, $conns connections each, $(grep -c . "$out/tiles.txt") warm tiles"
	total=0
	for i in $(seq 0 $((replicas - 1))); do
		rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk-$i.txt")
		p50=$(awk '$1 == "50%" {print $2}' "$out/wrk-$i.txt")
		p99=$(awk '$1 == "99%" {print $2}' "$out/wrk-$i.txt")
		errs=$(awk '/Non-2xx|Socket errors/ {print}' "$out/wrk-$i.txt")
		echo "replica $((i + 1)): ${rps} req/s, p50 ${p50}, p99 ${p99} ${errs:-(0 errors)}"
		total=$(awk -v a="$total" -v b="$rps" 'BEGIN {print a + b}')
	done
	echo "total: $total req/s"
	echo "zone changes (time until each replica's TileJSON shows the new version):"
	cat "$out/changes.txt"
	echo "RSS KiB over time (unix time, one column per replica):"
	cat "$out/rss.txt"
} | tee "$out/summary.txt"
if [ -z "${BENCH_DATABASE_URL:-}" ] && [ -z "${BENCH_KEEP_DB:-}" ]; then
	stop
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS riskzone_bench_cluster WITH (FORCE)"
fi
