#!/usr/bin/env bash
# bench/export.sh — streamed exports and OGC API - Features (docs/ogc.md).
#
# Creates a database of its own (riskzone_bench_export on the managed
# cluster, or BENCH_DATABASE_URL), loads a demo city of BENCH_BUILDINGS
# (100,000) buildings, serves it on 127.0.0.1 and measures, in one run:
#
#   copy      COPY (SELECT ST_AsGeoJSON(b.*, 'geom', 7) FROM buildings b) TO STDOUT
#             through psql: the rate at which PostGIS alone writes the
#             same features as GeoJSON (the reference)
#   export    GET /api/v1/export/buildings.geojson: every building as one
#             streamed RFC 7946 FeatureCollection; features/s and the ratio
#             to copy (target >= 0.5x)
#   memory    the server's peak RSS (VmHWM) after a small export (a tenth of
#             the city by bbox) and after the full one: flat means the
#             same
#   pages     the first and a deep page (cursor after the 90th percentile
#             key) of /ogc/collections/buildings/items?limit=1000: keyset
#             paging costs the same at any depth
#   ogr2ogr   ogr2ogr -f GPKG -oo PAGE_SIZE=1000 of OAPIF:.../ogc buildings:
#             wall time and the feature count of the copy (every feature,
#             all pages). GDAL 3.6 asks for 10 features a page unless told
#             otherwise (PAGE_SIZE); BENCH_OGR_DEFAULT=1 also times that.
#
# Bounded: each timing is the best of BENCH_ROUNDS (3) runs; the server and
# the database are removed at the end (BENCH_KEEP_DB=1 keeps the database).
#
#   bench/export.sh
#   BENCH_BUILDINGS=20000 bench/export.sh
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in psql curl ogr2ogr ogrinfo; do
	command -v "$tool" >/dev/null || { echo "$tool is missing (make deps installs postgresql-client, curl and gdal-bin)" >&2; exit 1; }
done

n=${BENCH_BUILDINGS:-100000}
rounds=${BENCH_ROUNDS:-3}
port=${BENCH_PORT:-18811}
out=bench/out/export
rm -rf "$out"
mkdir -p "$out"
go build -o "$out/riskzone" ./cmd/riskzone

main_url=$("$out/riskzone" db url --migrations)
url=${BENCH_DATABASE_URL:-${main_url%/*}/riskzone_bench_export?sslmode=disable}
admin_url=${main_url%/*}/postgres?sslmode=disable
if [ -z "${BENCH_DATABASE_URL:-}" ]; then
	psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench_export WITH (FORCE)' -c 'CREATE DATABASE riskzone_bench_export'
fi
export DATABASE_URL="$url"

server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -z "${BENCH_DATABASE_URL:-}" ] && [ -z "${BENCH_KEEP_DB:-}" ]; then
		psql -q "$admin_url" -c 'DROP DATABASE IF EXISTS riskzone_bench_export WITH (FORCE)' || true
	fi
}
trap cleanup EXIT

"$out/riskzone" migrate >/dev/null
echo "loading the demo city ($n buildings)" >&2
"$out/riskzone" demo --buildings "$n" --seed 1 --replace >"$out/demo.out" 2>"$out/demo.log"
psql -q "$url" -c 'ANALYZE'
count=$(psql -Atq "$url" -c 'SELECT count(*) FROM buildings')

"$out/riskzone" serve --limit-exempt-loopback --addr "127.0.0.1:$port" --insecure-dev >"$out/serve.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
	curl -sf "$base/readyz" >/dev/null && break
	sleep 0.1
done
curl -sf "$base/readyz" >/dev/null || { echo "the server did not start:" >&2; tail "$out/serve.log" >&2; exit 1; }

now() { date +%s.%N; }
best() { sort -g | head -n 1; }
rss() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$server_pid/status"; }

# copy: PostGIS alone.
for _ in $(seq 1 "$rounds"); do
	t0=$(now)
	psql -Atq "$url" -c "COPY (SELECT ST_AsGeoJSON(b.*, 'geom', 7) FROM (SELECT id, kind, name, addr_district, addr_street,
		addr_community, addr_compound, addr_number, floors, population, county_id, community_id, compound_id,
		ST_ForcePolygonCCW(geom) AS geom FROM buildings) b) TO STDOUT" >"$out/copy.ndjson"
	t1=$(now)
	echo "$t1 - $t0" | bc -l
done | best >"$out/copy.s"
copy_s=$(cat "$out/copy.s")
copy_lines=$(wc -l <"$out/copy.ndjson")

# memory: a tenth of the city first.
read -r x0 y0 x1 y1 < <(psql -Atq -F ' ' "$url" -c "SELECT ST_XMin(e), ST_YMin(e), ST_XMin(e) + (ST_XMax(e) - ST_XMin(e)) / 10, ST_YMax(e)
	FROM (SELECT ST_Extent(geom) e FROM buildings) s")
rss_idle=$(rss VmRSS)
curl -sf -o "$out/small.geojson" "$base/api/v1/export/buildings.geojson?bbox=$x0,$y0,$x1,$y1"
small=$(grep -o '{"type":"Feature"' "$out/small.geojson" | wc -l)
hwm_small=$(rss VmHWM)

# export: the whole city, streamed.
for _ in $(seq 1 "$rounds"); do
	curl -sf -o "$out/export.geojson" -w '%{time_total}\n' "$base/api/v1/export/buildings.geojson"
done | best >"$out/export.s"
export_s=$(cat "$out/export.s")
exported=$(grep -o '{"type":"Feature"' "$out/export.geojson" | wc -l)
hwm_full=$(rss VmHWM)

# pages: first and deep.
deep_key=$(psql -Atq "$url" -c 'SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY id) FROM buildings')
cursor=$(printf 'a.%s.0' "$deep_key" | base64 -w0 | tr '+/' '-_' | tr -d '=')
first_ms=$(for _ in $(seq 1 "$rounds"); do curl -sf -o /dev/null -w '%{time_total}\n' "$base/ogc/collections/buildings/items?limit=1000"; done | best)
deep_ms=$(for _ in $(seq 1 "$rounds"); do curl -sf -o /dev/null -w '%{time_total}\n' "$base/ogc/collections/buildings/items?limit=1000&cursor=$cursor"; done | best)

# ogr2ogr: the whole collection through OAPIF.
rm -f "$out/buildings.gpkg"
t0=$(now)
ogr2ogr -f GPKG -oo PAGE_SIZE=1000 "$out/buildings.gpkg" "OAPIF:$base/ogc" buildings 2>"$out/ogr2ogr.log"
t1=$(now)
ogr_s=$(echo "$t1 - $t0" | bc -l)
copied=$(ogrinfo -ro -so "$out/buildings.gpkg" buildings | sed -n 's/^Feature Count: //p')
if [ -n "${BENCH_OGR_DEFAULT:-}" ]; then
	rm -f "$out/buildings10.gpkg"
	t0=$(now)
	ogr2ogr -f GPKG "$out/buildings10.gpkg" "OAPIF:$base/ogc" buildings 2>>"$out/ogr2ogr.log"
	t1=$(now)
	ogr10_s=$(echo "$t1 - $t0" | bc -l)
	copied10=$(ogrinfo -ro -so "$out/buildings10.gpkg" buildings | sed -n 's/^Feature Count: //p')
fi

rate() { echo "$1 / $2" | bc -l; }
copy_rate=$(rate "$copy_lines" "$copy_s")
export_rate=$(rate "$exported" "$export_s")
printf '%-10s %10s %10s %14s %s\n' what features seconds features/s note
printf '%-10s %10d %10.3f %14.0f %s\n' copy "$copy_lines" "$copy_s" "$copy_rate" "psql COPY ... TO STDOUT"
printf '%-10s %10d %10.3f %14.0f %s\n' export "$exported" "$export_s" "$export_rate" "$(printf '%.2fx copy' "$(rate "$export_rate" "$copy_rate")")"
printf '%-10s %10d %10.3f %14.0f %s\n' ogr2ogr "$copied" "$ogr_s" "$(rate "$copied" "$ogr_s")" "OAPIF -> GPKG, PAGE_SIZE=1000, of $count buildings"
if [ -n "${BENCH_OGR_DEFAULT:-}" ]; then
	printf '%-10s %10d %10.3f %14.0f %s\n' ogr2ogr "$copied10" "$ogr10_s" "$(rate "$copied10" "$ogr10_s")" "OAPIF -> GPKG, GDAL's default 10 a page"
fi
printf 'memory: server RSS idle %d MiB; peak %d MiB after %d features, %d MiB after %d features\n' \
	$((rss_idle / 1024)) $((hwm_small / 1024)) "$small" $((hwm_full / 1024)) "$exported"
printf 'pages (limit=1000): first %.1f ms, deep (after key %s) %.1f ms\n' "$(echo "$first_ms * 1000" | bc -l)" "$deep_key" "$(echo "$deep_ms * 1000" | bc -l)"
echo "(details: $out/)"
if [ "$copied" != "$count" ] || [ "$exported" != "$count" ]; then
	echo "MISMATCH: $count buildings, exported $exported, ogr2ogr copied $copied" >&2
	exit 1
fi
