#!/usr/bin/env bash
# bench/demo.sh — time `riskzone demo` at 100,000 and 1,000,000 buildings.
#
# Loads into the database riskzone uses (the managed local cluster, or
# DATABASE_URL when set) with --replace, so it REPLACES the demo data there.
# Prints wall time and peak resident memory (max RSS) of each run, measured
# with GNU time (`/usr/bin/time -v`); the full outputs go to bench/out/.
#
#   bench/demo.sh                    # both sizes
#   DEMO_SIZES=20000 bench/demo.sh   # other sizes
set -euo pipefail

cd "$(dirname "$0")/.."
sizes=${DEMO_SIZES:-"100000 1000000"}

if [ ! -x /usr/bin/time ]; then
	echo "installing GNU time (Debian package 'time')" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
fi

out=bench/out
mkdir -p "$out"
go build -o "$out/riskzone" ./cmd/riskzone

printf '%-10s %12s %12s\n' buildings wall max_rss
for n in $sizes; do
	if ! /usr/bin/time -v -o "$out/demo-$n.time" \
		"$out/riskzone" demo --buildings "$n" --replace --seed 1 --today 2022-11-20 \
		>"$out/demo-$n.out" 2>"$out/demo-$n.log"; then
		echo "riskzone demo --buildings $n failed:" >&2
		tail -n 20 "$out/demo-$n.log" >&2
		exit 1
	fi
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/demo-$n.time")
	rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/demo-$n.time")
	printf '%-10s %12s %9d MiB\n' "$n" "$wall" "$((rss_kb / 1024))"
done
echo "(details: $out/demo-*.out, *.log, *.time)"
