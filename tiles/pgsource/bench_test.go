package pgsource

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The generator comparison of docs/tiles.md: the same tiles rendered by
// the service (Go, from regions in memory, tile cache off) and by one
// ST_AsMVT query per tile, from the source tables (as pg_tileserv does) and
// from a tile-ready copy in EPSG:3857. One tile per op, serially, so ns/op
// is the cost of one tile; bench/tiles.sh measures throughput under load.
//
//	go test -run '^$' -bench TileGenerators -benchtime 2000x ./tiles/pgsource/
//
// RISKZONE_BENCH_BUILDINGS sets the city's size (default 100000).
func BenchmarkTileGenerators(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("RISKZONE_BENCH_BUILDINGS")); err == nil && v >= demo.MinBuildings {
		n = v
	}
	// As the owner role: the benchmark builds tables of its own to compare
	// against (the app role has no DDL), and ANALYZE is the owner's.
	store := pgtest.NewOwnerStore(b)
	ctx := context.Background()
	if _, err := demo.Load(ctx, store, demo.Options{Seed: 1, Buildings: n, Today: time.Date(2022, 11, 21, 0, 0, 0, 0, time.UTC)}, nil); err != nil {
		b.Fatal(err)
	}
	publishZones(b, store, 200)
	for _, sql := range []string{
		`CREATE TABLE bench_buildings_3857 AS SELECT id, kind, ST_Transform(geom, 3857) AS geom FROM buildings`,
		`CREATE INDEX ON bench_buildings_3857 USING gist (geom)`,
		`CREATE TABLE bench_zones_3857 AS SELECT p.zone_id AS id, p.level, p.name, ST_Transform(p.geom, 3857) AS geom FROM public_zone_versions p WHERE p.status = 'active'`,
		`CREATE INDEX ON bench_zones_3857 USING gist (geom)`,
		`ANALYZE`,
	} {
		if _, err := store.Pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	buildingTiles := sampleTiles(b, store, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM buildings`, 600)
	zoneTiles := sampleTiles(b, store, `SELECT ST_X((ST_DumpPoints(geom)).geom), ST_Y((ST_DumpPoints(geom)).geom) FROM public_zone_versions`, 600)

	svc := tiles.New(New(store.Pool, Options{}, quietLog()), tiles.Options{NoCache: true}, quietLog())
	run := func(b *testing.B, list []tiles.TileID, one func(t tiles.TileID) int) {
		for _, t := range list { // warm regions and the database's buffers
			one(t)
		}
		b.ResetTimer()
		bytes := 0
		for i := 0; i < b.N; i++ {
			bytes += one(list[i%len(list)])
		}
		b.ReportMetric(float64(bytes)/float64(b.N), "tile-bytes")
	}
	goTile := func(set string) func(t tiles.TileID) int {
		s, _ := svc.Set(set)
		return func(t tiles.TileID) int {
			tl, err := svc.Tile(ctx, s, t)
			if err != nil {
				b.Fatal(err)
			}
			return len(tl.Body)
		}
	}
	sqlTile := func(query string) func(t tiles.TileID) int {
		return func(t tiles.TileID) int {
			var body []byte
			if err := store.Pool.QueryRow(ctx, query, int(t.Z), int(t.X), int(t.Y)).Scan(&body); err != nil {
				b.Fatal(err)
			}
			return len(body)
		}
	}
	const stBuildings = `SELECT ST_AsMVT(t, 'buildings', 4096, 'geom', 'id') FROM (
		SELECT b.id, b.kind, ST_AsMVTGeom(ST_Transform(b.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 128, true) AS geom
		FROM buildings b WHERE b.geom && ST_Transform(ST_TileEnvelope($1, $2, $3), 4326)) t`
	const st3857Buildings = `SELECT ST_AsMVT(t, 'buildings', 4096, 'geom', 'id') FROM (
		SELECT b.id, b.kind, ST_AsMVTGeom(b.geom, ST_TileEnvelope($1, $2, $3), 4096, 128, true) AS geom
		FROM bench_buildings_3857 b WHERE b.geom && ST_TileEnvelope($1, $2, $3, margin => 128.0 / 4096)) t`
	const stZones = `SELECT ST_AsMVT(t, 'zones', 4096, 'geom', 'id') FROM (
		SELECT p.zone_id AS id, p.level, p.name, ST_AsMVTGeom(ST_Transform(p.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 128, true) AS geom
		FROM public_zone_versions p WHERE p.status = 'active' AND p.geom && ST_Transform(ST_TileEnvelope($1, $2, $3), 4326)) t`
	const st3857Zones = `SELECT ST_AsMVT(t, 'zones', 4096, 'geom', 'id') FROM (
		SELECT z.id, z.level, z.name, ST_AsMVTGeom(z.geom, ST_TileEnvelope($1, $2, $3), 4096, 128, true) AS geom
		FROM bench_zones_3857 z WHERE z.geom && ST_TileEnvelope($1, $2, $3, margin => 128.0 / 4096)) t`

	b.Run("buildings/go-memory", func(b *testing.B) { run(b, buildingTiles, goTile("buildings")) })
	b.Run("buildings/st_asmvt-4326", func(b *testing.B) { run(b, buildingTiles, sqlTile(stBuildings)) })
	b.Run("buildings/st_asmvt-3857", func(b *testing.B) { run(b, buildingTiles, sqlTile(st3857Buildings)) })
	b.Run("zones/go-memory", func(b *testing.B) { run(b, zoneTiles, goTile("zones")) })
	b.Run("zones/st_asmvt-view", func(b *testing.B) { run(b, zoneTiles, sqlTile(stZones)) })
	b.Run("zones/st_asmvt-3857", func(b *testing.B) { run(b, zoneTiles, sqlTile(st3857Zones)) })
}

// sampleTiles draws up to n distinct z14-z16 tiles holding the points the
// query returns, with a fixed seed.
func sampleTiles(b *testing.B, store *postgis.Store, query string, n int) []tiles.TileID {
	rows, err := store.Pool.Query(context.Background(), query)
	if err != nil {
		b.Fatal(err)
	}
	seen := map[tiles.TileID]bool{}
	var all []tiles.TileID
	for rows.Next() {
		var lon, lat float64
		if err := rows.Scan(&lon, &lat); err != nil {
			b.Fatal(err)
		}
		for z := uint8(14); z <= 16; z++ {
			t := tiles.TileOf(lon, lat, z)
			if !seen[t] {
				seen[t] = true
				all = append(all, t)
			}
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	if len(all) > n {
		all = all[:n]
	}
	return all
}
