#!/usr/bin/env bash
# bench/import.sh: throughput and peak memory of `riskzone import osm`.
#
# Imports, each into a fresh database on the riskzone PostGIS server:
#   1. the real extract ../shared/data/osm/liechtenstein-2013-08-03.osm.pbf;
#   2. a synthetic city of N buildings (default 1,000,000), written by the
#      importer tests' generator (zoning/importer/synthetic_test.go) as OSM XML
#      and converted to PBF with osmium; kept in $OUT for the next run.
# Each file is imported twice: the first import loads it, the second (the same
# file again) must change nothing. Peak memory is the riskzone process's
# maximum resident set size from GNU time (/usr/bin/time -v); PostgreSQL's own
# memory is not in it. On the managed local cluster, the CPU seconds of the
# PostgreSQL backends that ended during each import are reported too (from the
# postmaster's reaped children's times): on a shared, busy machine they vary
# far less than wall time, and the merge is PostgreSQL's work.
#
#   bench/import.sh                      # both, N=1000000
#   N=100000 bench/import.sh             # a smaller city
#   FLAGS=--derive-units=false bench/import.sh   # without deriving units
#   KEEP=1 bench/import.sh               # keep the databases (rz_bench_import_*)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000000}
OUT=${OUT:-.data/bench}
FLAGS=${FLAGS:-}
BIN=bin/riskzone
REAL=../shared/data/osm/liechtenstein-2013-08-03.osm.pbf

need() { # command, Debian package
	command -v "$1" >/dev/null && return
	if [ "$(id -u)" = 0 ]; then
		echo "installing $2"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
	else
		echo "missing $1: apt-get install $2" >&2
		exit 1
	fi
}
need /usr/bin/time time
need osmium osmium-tool
need psql postgresql-client

[ -f "$REAL" ] || { echo "missing $REAL (see ../shared/data/README.md)" >&2; exit 1; }
mkdir -p "$OUT" bin
OUT=$(cd "$OUT" && pwd) # go test runs in the package folder
go build -o "$BIN" ./cmd/riskzone
if ! "$BIN" import --help >/dev/null 2>&1; then
	echo "$BIN has no import command: add a.importCmd() to root.AddCommand in cmd/riskzone/main.go" >&2
	exit 1
fi

PGPID=""
if [ -z "${DATABASE_URL:-}" ]; then
	"$BIN" db start >/dev/null
	DATABASE_URL=$("$BIN" db url --migrations)
	[ -r .data/postgres/postmaster.pid ] && PGPID=$(head -1 .data/postgres/postmaster.pid)
fi
# pg_cpu: CPU time (1/100 s) of the postmaster's ended children so far.
pg_cpu() { if [ -n "$PGPID" ]; then awk '{print $16+$17}' "/proc/$PGPID/stat"; else echo 0; fi; }
# The server's maintenance database, and a URL per bench database.
base=${DATABASE_URL%%\?*}
query=""
[[ "$DATABASE_URL" == *\?* ]] && query="?${DATABASE_URL#*\?}"
server=${base%/*}
admin_url="$server/postgres$query"
db_url() { echo "$server/$1$query"; }

CITY="$OUT/city-$N.osm.pbf"
if [ ! -f "$CITY" ]; then
	echo "generating a synthetic city of $N buildings in $CITY"
	RISKZONE_SYNTH_OUT="$OUT" RISKZONE_SYNTH_BUILDINGS="$N" \
		go test -count=1 -timeout 60m -run '^TestSyntheticCityImports$' ./zoning/importer/ >"$OUT/generate.log" 2>&1 ||
		{ tail -20 "$OUT/generate.log" >&2; exit 1; }
	rm -f "$OUT/city-$N.osm"
fi

results=()
run() { # name, file
	local name=$1 file=$2 db="rz_bench_import_$1"
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
	for pass in load reimport; do
		local log="$OUT/$name-$pass" cpu0 cpu pgcpu=""
		cpu0=$(pg_cpu)
		# shellcheck disable=SC2086
		/usr/bin/time -v "$BIN" --database-url "$(db_url "$db")" import osm --no-progress $FLAGS "$file" \
			>"$log.out" 2>"$log.err" || { cat "$log.err" >&2; exit 1; }
		local rss line
		sleep 1 # until the postmaster has reaped the import's backends
		cpu=$(pg_cpu)
		[ -n "$PGPID" ] && pgcpu=$(awk -v a="$cpu0" -v b="$cpu" 'BEGIN {printf " | PostgreSQL CPU %.1f s", (b-a)/100}')
		rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log.err")
		line=$(grep ' features, ' "$log.out")
		cat "$log.out"
		echo "peak memory (max RSS of riskzone): ${rss} MB"
		echo
		results+=("$(printf '%-14s %-9s %s | max RSS %s MB%s | load %s' "$name" "$pass" "$line" "$rss" "$pgcpu" "$(cut -d' ' -f1-3 /proc/loadavg)")")
	done
	floor "$name" "$db"
	[ -n "${KEEP:-}" ] || psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db"
}

# floor NAME DB: the least PostgreSQL could spend writing what the import
# wrote, measured in the same run: the buildings and units just imported,
# copied out in binary and COPYed back into bare copies of their tables (no
# index, constraint, trigger or computation), then the two GiST indexes
# built. No import into these tables can be faster than that on this
# machine; the import's time is reported as a ratio to it.
floor() {
	local name=$1 url t0 t1 bld
	url=$(db_url "$2")
	psql -qX "$url" >/dev/null <<-SQL
		CREATE TABLE floor_buildings (LIKE buildings INCLUDING DEFAULTS);
		CREATE TABLE floor_units (LIKE units INCLUDING DEFAULTS);
		\copy (SELECT * FROM buildings) TO '$OUT/floor-buildings.bin' WITH (FORMAT binary)
		\copy (SELECT * FROM units) TO '$OUT/floor-units.bin' WITH (FORMAT binary)
	SQL
	bld=$(psql -qAtX "$url" -c "SELECT count(*) FROM buildings")
	t0=$(date +%s.%N)
	psql -qX "$url" >/dev/null <<-SQL
		BEGIN;
		\copy floor_buildings FROM '$OUT/floor-buildings.bin' WITH (FORMAT binary)
		\copy floor_units FROM '$OUT/floor-units.bin' WITH (FORMAT binary)
		CREATE INDEX ON floor_buildings USING gist (geom);
		CREATE INDEX ON floor_units USING gist (geom);
		COMMIT;
	SQL
	t1=$(date +%s.%N)
	psql -qX "$url" -c "DROP TABLE floor_buildings, floor_units" >/dev/null
	rm -f "$OUT/floor-buildings.bin" "$OUT/floor-units.bin"
	results+=("$(awk -v n="$name" -v b="$bld" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
		'BEGIN {printf "%-14s floor     %d buildings and their units COPYed into bare tables + 2 GiST indexes in %.2fs: %.0f buildings/s at most", n, b, s, b / s}')")
}

run liechtenstein "$REAL"
run "city_$N" "$CITY"

echo "== summary (FLAGS: ${FLAGS:-none}; $(nproc) CPUs; load average at the end of each import) =="
printf '%s\n' "${results[@]}"
