#!/usr/bin/env bash
# bench/cluster.sh — mixed public load on three replicas, with its own pass
# or fail (docs/operations.md).
#
# Creates a database of its own (riskzone_bench_cluster on the managed
# cluster, started if needed and found like the binary finds it, so
# RISKZONE_PG_PORT applies; or BENCH_DATABASE_URL) with the demo city
# (BENCH_BUILDINGS, default 20000) and its story, an expert and a publisher
# account with API tokens for the zone changes, and starts REPLICAS (3)
# replicas on loopback with scripts/cluster.sh (rate limits off: the load
# comes from one address).
# It warms them, then:
#
#  1. a connection sweep: one wrk per replica for BENCH_SWEEP_SECONDS (5) at
#     each of BENCH_SWEEP ("4 8 16") connections per replica; the run uses the
#     fewest connections whose requests/s, without errors, are within 5 % of
#     the best (past that knee more connections only queue; BENCH_CONNECTIONS
#     skips the sweep);
#  2. the run: one wrk per replica for BENCH_SECONDS (60) over a fixed mix of
#     paths: 80 % warm public tiles (z14-z16, versioned URLs from TileJSON),
#     15 % lookups (points), 5 % pages. During it, BENCH_CHANGES (10) real zone
#     changes through the HTTP API, each sent to the next replica in turn: a
#     member edit of a published zone by the expert (PATCH
#     /api/v1/zones/:id/members, one building out, then back in) and its
#     publication by the publisher (POST /api/v1/notices).
#     From the publication's 201 (its transaction has committed), every
#     replica is polled until its /tiles/zones.json hands out the new version
#     and a tile of the zone at the new versioned URL answers 200 with a new
#     ETag; the time per replica and change is recorded, and so is how long
#     the publish request itself took. RSS of the replicas is sampled every
#     5 s.
#
# It fails (exit 1) when any wrk output shows Non-2xx answers or socket
# errors, when a replica serves a change later than 1000 ms after its
# publication committed (or a change fails), or when a replica's RSS grows by
# more than 10 % after warm-up (the median of the last third of the samples
# against the first third, samples from BENCH_WARMUP (10) s into the run).
# Load is bounded: the sweep plus the run, 75 s with the defaults. Everything
# stops at the end; the numbers go to bench/out/cluster/summary.txt.
#
#   bench/cluster.sh
#   BENCH_SECONDS=20 BENCH_SWEEP= BENCH_CONNECTIONS=8 bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-60}
sweep=${BENCH_SWEEP-4 8 16}
sweep_secs=${BENCH_SWEEP_SECONDS:-5}
warmup=${BENCH_WARMUP:-10}
changes=${BENCH_CHANGES:-10}
replicas=${REPLICAS:-3}
base=${BASE_PORT:-18821}
if [ -n "${BENCH_CONNECTIONS:-}" ]; then sweep=""; fi
out=bench/out/cluster
rm -rf "$out"; mkdir -p "$out"
go build -o "$out/riskzone" ./cmd/riskzone
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	env -u DATABASE_URL "$out/riskzone" db start >/dev/null
fi
main_url=$(env -u DATABASE_URL "$out/riskzone" db url --migrations)
url=${BENCH_DATABASE_URL:-${main_url%/*}/riskzone_bench_cluster?sslmode=disable}
admin_url=${main_url%/*}/postgres?sslmode=disable
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS riskzone_bench_cluster WITH (FORCE)" -c "CREATE DATABASE riskzone_bench_cluster"
fi
export DATABASE_URL=$url
"$out/riskzone" migrate >/dev/null
"$out/riskzone" demo --seed 1 --buildings "${BENCH_BUILDINGS:-20000}" >"$out/demo.log" 2>&1
# The accounts the zone changes are made with: an expert edits, a publisher
# publishes (a second person must publish an edit). Their tokens live for the
# run only and are never printed.
"$out/riskzone" user add bench-expert --role expert --no-password --if-missing >/dev/null
"$out/riskzone" user add bench-publisher --role publisher --no-password --if-missing >/dev/null
expert_token=$("$out/riskzone" user token bench-expert --name "bench/cluster.sh" --expires 1h 2>/dev/null)
publisher_token=$("$out/riskzone" user token bench-publisher --name "bench/cluster.sh" --expires 1h 2>/dev/null)

rss_pid=""
stop() {
	[ -z "$rss_pid" ] || kill "$rss_pid" 2>/dev/null || true
	BIN="$out/riskzone" scripts/cluster.sh stop >/dev/null 2>&1 || true
}
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

# wrk_all CONNECTIONS SECONDS NAME: one wrk per replica, all at once, into
# $out/NAME-<replica>.txt.
wrk_all() {
	local pids=()
	for i in $(seq 0 $((replicas - 1))); do
		BENCH_PATHS="$out/paths.txt" wrk -t1 -c"$1" -d"${2}s" --latency -s "$out/mix.lua" "http://127.0.0.1:$((base + i))" >"$out/$3-$i.txt" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
}
# wrk_errors FILE: the error lines of a wrk output (empty when none).
wrk_errors() { grep -E 'Non-2xx|Socket errors' "$1" || true; }
# wrk_total NAME: requests/s summed over the replicas.
wrk_total() { cat "$out/$1"-*.txt | awk '/Requests\/sec/ {s += $2} END {printf "%.0f", s}'; }

fails=()
conns=${BENCH_CONNECTIONS:-8}
if [ -n "$sweep" ]; then
	best=0
	clean=()
	for c in $sweep; do
		wrk_all "$c" "$sweep_secs" "sweep-c$c"
		total=$(wrk_total "sweep-c$c")
		errs=$(grep -hE 'Non-2xx|Socket errors' "$out/sweep-c$c"-*.txt || true)
		echo "sweep: $c connections per replica, ${sweep_secs}s: $total req/s ${errs:+(errors: $(echo "$errs" | tr '\n' ' '))}" | tee -a "$out/sweep.txt"
		if [ -z "$errs" ]; then
			clean+=("$c:$total")
			[ "$total" -le "$best" ] || best=$total
		fi
	done
	[ "$best" -gt 0 ] || { echo "sweep: every connection count had errors" >&2; exit 1; }
	# The knee: the fewest connections within 5 % of the best rate. Past it
	# more connections only queue (the rate stays, the latency grows).
	for ct in "${clean[@]}"; do
		if [ $((${ct#*:} * 100)) -ge $((best * 95)) ]; then conns=${ct%%:*}; break; fi
	done
	echo "sweep: the run uses $conns connections per replica (the fewest within 5 % of the best error-free rate)" | tee -a "$out/sweep.txt"
fi

# RSS every 5 s.
( while true; do
	line=$(date +%s)
	for f in "${CLUSTER_DIR:-.data/cluster}"/replica-*.pid; do line="$line $(ps -o rss= -p "$(cat "$f")" 2>/dev/null | tr -d ' ' || echo 0)"; done
	echo "$line" >>"$out/rss.txt"; sleep 5
done ) &
rss_pid=$!

run_start=$(date +%s)
wrk_all "$conns" "$secs" wrk &
wrk_pid=$!

# Zone changes during the run, through the API.
sleep $((secs / 6))
changes_rc=0
BENCH_EXPERT_TOKEN=$expert_token BENCH_PUBLISHER_TOKEN=$publisher_token python3 - "$base" "$replicas" "$changes" "$url" "$out" "$((run_start + secs))" <<'PY' || changes_rc=$?
import json, math, os, subprocess, sys, time, urllib.error, urllib.request
base, n, changes, dsn, out, run_end = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
expert, publisher = os.environ["BENCH_EXPERT_TOKEN"], os.environ["BENCH_PUBLISHER_TOKEN"]

def call(i, method, path, body=None, headers=None, auth=None):
    h = dict(headers or {})
    if auth:
        h["Authorization"] = "Bearer " + auth
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://127.0.0.1:{base + i}{path}", data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

def psql(sql):
    return subprocess.run(["psql", "-qtA", dsn, "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

# A published zone of several buildings, one member building away from the
# zone's point on surface (its removal leaves the tile of that point
# non-empty), and that tile at z14.
row = psql("""SELECT z.zone_id, z.county_id, b.id, ST_X(p.p), ST_Y(p.p)
  FROM public_zone_versions z CROSS JOIN LATERAL (SELECT ST_PointOnSurface(z.geom) p) p
  CROSS JOIN LATERAL (SELECT id FROM buildings WHERE id = ANY (z.building_ids) AND NOT ST_DWithin(geom, p.p, 0.0005) ORDER BY id LIMIT 1) b
  WHERE z.status = 'active' AND cardinality(z.building_ids) >= 3 ORDER BY z.zone_id LIMIT 1""")
if not row:
    sys.exit("no published zone of 3 or more buildings to change")
zone, county, building, lon, lat = row.split("|")
zone, county, building = int(zone), int(county), int(building)
lon, lat = float(lon), float(lat)
zn = 2 ** 14
tile = f"/tiles/zones/14/{int((lon + 180) / 360 * zn)}/{int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * zn)}.mvt"

def served(i):
    """The zones version replica i hands out and the ETag of the tile there."""
    st, _, body = call(i, "GET", "/tiles/zones.json")
    if st != 200:
        return None, None, st
    v = json.loads(body)["tiles"][0].split("?v=")[1]
    st, hdr, _ = call(i, "GET", f"{tile}?v={v}")
    return v, hdr.get("ETag"), st

ok = True
worst = 0.0
with open(f"{out}/changes.txt", "w") as f:
    for c in range(changes):
        w = c % n  # the replica that takes the writes of this change
        st, hdr, body = call(w, "GET", f"/api/v1/zones/{zone}", auth=expert)
        if st != 200:
            sys.exit(f"change {c + 1}: GET zone: {st} {body[:200]!r}")
        members = json.loads(body)["current"]["building_ids"]
        edit = {"reason": f"bench/cluster.sh change {c + 1}"}
        edit["remove_buildings" if building in members else "add_buildings"] = [building]
        st, _, body = call(w, "PATCH", f"/api/v1/zones/{zone}/members", edit, {"If-Match": hdr["ETag"]}, auth=expert)
        if st != 200:
            sys.exit(f"change {c + 1}: edit: {st} {body[:200]!r}")
        # The edit bumps the layer too: let every replica settle on it, so
        # that what is timed below is the publication alone.
        settle = time.monotonic()
        target = int(psql("SELECT version FROM layer_versions WHERE layer = 'zones'"))
        before = [served(i) for i in range(n)]
        while any(b[0] is None or int(b[0]) < target for b in before) and time.monotonic() - settle < 5:
            time.sleep(0.01)
            before = [served(i) for i in range(n)]
        sent = time.monotonic()
        st, _, body = call(w, "POST", "/api/v1/notices", {"county_id": county, "zone_ids": [zone], "reason": f"bench/cluster.sh change {c + 1}"}, auth=publisher)
        t0 = time.monotonic()  # the publication has committed
        published = t0 - sent
        if st != 201:
            sys.exit(f"change {c + 1}: publish: {st} {body[:200]!r}")
        target = int(psql("SELECT version FROM layer_versions WHERE layer = 'zones'"))
        seen = [None] * n   # the new tile served
        known = [None] * n  # the new version in TileJSON
        while None in seen and time.monotonic() - t0 < 5:
            for i in range(n):
                if seen[i] is None:
                    v, etag, st = served(i)
                    now = time.monotonic() - t0
                    if v is not None and int(v) >= target and known[i] is None:
                        known[i] = now
                    if v is not None and int(v) >= target and st == 200 and etag and etag != before[i][1]:
                        seen[i] = time.monotonic() - t0
            time.sleep(0.005)
        ms = ["%.0f ms (TileJSON %.0f)" % (s * 1000, k * 1000) if s is not None else "NOT SEEN" for s, k in zip(seen, known)]
        f.write(f"change {c + 1} (written via replica {w + 1}, publish answered in {published * 1000:.0f} ms): " + ", ".join(ms) + "\n")
        f.flush()
        if None in seen:
            ok = False
        worst = max([worst] + [s if s is not None else 99 for s in seen])
        time.sleep(1)
    f.write(f"worst: {worst * 1000:.0f} ms after the publication committed\n")
    if time.time() > run_end:
        f.write("the changes did not fit in the run: raise BENCH_SECONDS\n")
        ok = False
if not ok or worst > 1.0:
    sys.exit(1)
PY
wait "$wrk_pid" || true
kill "$rss_pid" 2>/dev/null || true
rss_pid=""

# RSS growth after warm-up: median of the last third of the samples against
# the first third, per replica.
rss_rc=0
python3 - "$out/rss.txt" "$((run_start + warmup))" "$((run_start + secs))" >"$out/rss-growth.txt" <<'PY' || rss_rc=$?
import statistics, sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [list(map(int, l.split())) for l in open(path) if l.strip()]
rows = [r for r in rows if lo <= r[0] <= hi]
if len(rows) < 3:
    sys.exit(f"{len(rows)} RSS samples after warm-up: too few (raise BENCH_SECONDS)")
k = len(rows) // 3
bad = False
for i in range(1, len(rows[0])):
    first = statistics.median(r[i] for r in rows[:k])
    last = statistics.median(r[i] for r in rows[-k:])
    g = (last - first) / first * 100
    bad |= g > 10
    print(f"replica {i}: {first / 1024:.0f} MB -> {last / 1024:.0f} MB, {g:+.1f} % ({len(rows)} samples)")
sys.exit(1 if bad else 0)
PY

{
	echo "bench/cluster.sh: $replicas replicas, ${secs}s, $conns connections each, $(grep -c . "$out/tiles.txt") warm tiles"
	[ -z "$sweep" ] || cat "$out/sweep.txt"
	for i in $(seq 0 $((replicas - 1))); do
		f="$out/wrk-$i.txt"
		rps=$(awk '/Requests\/sec/ {print $2}' "$f")
		p50=$(awk '$1 == "50%" {print $2}' "$f")
		p99=$(awk '$1 == "99%" {print $2}' "$f")
		errs=$(wrk_errors "$f")
		echo "replica $((i + 1)): ${rps:-?} req/s, p50 ${p50:-?}, p99 ${p99:-?} ${errs:-(0 errors)}"
	done
	echo "total: $(wrk_total wrk) req/s"
	echo "zone changes (ms from the publication's 201 until each replica serves the new zones tile; in brackets until its TileJSON names the new version):"
	cat "$out/changes.txt" 2>/dev/null || echo "(none recorded)"
	echo "RSS growth after ${warmup}s of warm-up (median of the last third of the samples against the first):"
	cat "$out/rss-growth.txt"
	echo "RSS KiB over time (unix time, one column per replica; the run started at $run_start):"
	cat "$out/rss.txt"
} | tee "$out/summary.txt"

for i in $(seq 0 $((replicas - 1))); do
	[ -z "$(wrk_errors "$out/wrk-$i.txt")" ] || fails+=("replica $((i + 1)): wrk saw errors")
	grep -q 'Requests/sec' "$out/wrk-$i.txt" || fails+=("replica $((i + 1)): wrk did not finish")
done
[ "$changes_rc" = 0 ] || fails+=("zone changes: a change failed or was served later than 1000 ms")
[ "$rss_rc" = 0 ] || fails+=("RSS grew by more than 10 % after warm-up")

if [ -z "${BENCH_DATABASE_URL:-}" ] && [ -z "${BENCH_KEEP_DB:-}" ]; then
	stop
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS riskzone_bench_cluster WITH (FORCE)"
fi
if [ "${#fails[@]}" -gt 0 ]; then
	printf 'FAIL: %s\n' "${fails[@]}" | tee -a "$out/summary.txt" >&2
	exit 1
fi
echo "PASS" | tee -a "$out/summary.txt"
