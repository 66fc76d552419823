package postgis_test

import (
	"context"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// reportLatency adds the median and 99th percentile of the iterations'
// durations to the benchmark's output.
func reportLatency(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	pick := func(q float64) float64 {
		i := int(q * float64(len(ds)-1))
		return float64(ds[i].Microseconds()) / 1000
	}
	b.ReportMetric(pick(0.50), "p50-ms")
	b.ReportMetric(pick(0.99), "p99-ms")
}

// benchZone makes county 1 with a 25 x 20 grid of buildings (two units each,
// 40 m x 12 m, 50 m x 30 m apart) plus a spare row, and an active zone of
// the 500 grid buildings approved by an expert. It returns the store, the
// expert's origin, the zone and a spare building.
func benchZone(b *testing.B) (postgis.Zones, zoning.Origin, zoning.Zone, int64) {
	b.Helper()
	s := pgtest.NewStore(b)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		b.Helper()
		if _, err := s.Pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '基准区', ST_Multi(ST_GeomFromText($1, 4326)))`, wktPoly(-100, -100, 1500, 1000))
	// Buildings: id = 1 + i + 25 j for the grid (j < 20); row j = 20 is spare.
	exec(`INSERT INTO buildings (id, county_id, population, geom)
		SELECT 1 + i + 25 * j, 1, 40, ST_Multi(ST_MakeEnvelope(
			$1::float8 + (i * 50) * $3::float8, $2::float8 + (j * 30) * $4::float8,
			$1::float8 + (i * 50 + 40) * $3::float8, $2::float8 + (j * 30 + 12) * $4::float8, 4326))
		FROM generate_series(0, 24) i, generate_series(0, 20) j`, lon0, lat0, degX(), degY())
	exec(`INSERT INTO units (building_id, number, name, population, geom)
		SELECT b.id, n, n || '单元', 20, ST_Multi(ST_MakeEnvelope(
			ST_XMin(b.geom) + (n - 1) * (ST_XMax(b.geom) - ST_XMin(b.geom)) / 2, ST_YMin(b.geom),
			ST_XMin(b.geom) + n * (ST_XMax(b.geom) - ST_XMin(b.geom)) / 2, ST_YMax(b.geom), 4326))
		FROM buildings b, generate_series(1, 2) n`)
	exec(`INSERT INTO proposal_runs (id, county_id, at, params, input_snapshot) VALUES (1, 1, now(), '{}', '{}')`)
	exec(`INSERT INTO proposals (id, run_id, county_id, level, name, geom, building_ids, unit_ids, population, staff_required, area_m2)
		SELECT 1, 1, 1, 'high', '基准', ST_Multi(ST_Envelope(ST_Collect(b.geom))), array_agg(b.id ORDER BY b.id),
		       (SELECT array_agg(u.id ORDER BY u.id) FROM units u WHERE u.building_id <= 500), 20000, 2000, 1
		FROM buildings b WHERE b.id <= 500`)
	expert, err := s.CreateUser(ctx, cli, zoning.NewUser{Username: "bench", Role: zoning.RoleExpert})
	if err != nil {
		b.Fatal(err)
	}
	z := postgis.Zones{S: s}
	zn, err := z.Approve(ctx, as(expert), 1, zoning.ApproveRequest{Reason: "benchmark"})
	if err != nil {
		b.Fatal(err)
	}
	if len(zn.Current.BuildingIDs) != 500 {
		b.Fatalf("zone of %d buildings", len(zn.Current.BuildingIDs))
	}
	return z, as(expert), zn, 501
}

func degX() float64 { x, _ := ll(1, 0); return x - lon0 }
func degY() float64 { _, y := ll(0, 1); return y - lat0 }

// BenchmarkZoneEditSave is the round trip of an edit of a zone of 500
// buildings: lock, check the version, recompute members, geometry and
// population, write the version and its audit entry, commit, read the zone
// back. members toggles a spare building in and out; geometry redraws the
// zone with its east edge alternately through and past a column of buildings.
//
//	go test ./zoning/postgis -run '^$' -bench 'ZoneEditSave' -benchtime 200x
func BenchmarkZoneEditSave(b *testing.B) {
	z, origin, zn, spare := benchZone(b)
	ctx := context.Background()
	b.Run("members", func(b *testing.B) {
		b.ReportAllocs()
		version := zn.CurrentVersion
		var ds []time.Duration
		i := 0
		for b.Loop() {
			ch := zoning.MemberChange{AddBuildings: []int64{spare}}
			if i%2 == 1 {
				ch = zoning.MemberChange{RemoveBuildings: []int64{spare}}
			}
			t0 := time.Now()
			got, err := z.EditMembers(ctx, origin, zn.ID, zoning.MembersEdit{Version: version, Reason: "bench", MemberChange: ch})
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			if want := 500 + (i+1)%2; len(got.Current.BuildingIDs) != want {
				b.Fatalf("%d buildings, want %d", len(got.Current.BuildingIDs), want)
			}
			version = got.CurrentVersion
			i++
		}
		reportLatency(b, ds)
		zn.CurrentVersion = version
	})
	b.Run("geometry", func(b *testing.B) {
		b.ReportAllocs()
		cur, err := z.Get(ctx, zn.ID)
		if err != nil {
			b.Fatal(err)
		}
		version := cur.CurrentVersion
		var ds []time.Duration
		i := 0
		for b.Loop() {
			east := 1245.0 // the last column (1200..1240) wholly in
			if i%2 == 1 {
				east = 1215 // through its middle: 15 of 40 m in, so out
			}
			t0 := time.Now()
			got, err := z.ReplaceGeometry(ctx, origin, zn.ID, zoning.GeometryEdit{Version: version, Reason: "bench",
				Geometry: rect(-5, -5, east, 585)})
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			if want := 500 - 20*(i%2); len(got.Current.BuildingIDs) != want {
				b.Fatalf("%d buildings, want %d", len(got.Current.BuildingIDs), want)
			}
			version = got.CurrentVersion
			i++
		}
		reportLatency(b, ds)
	})
}

// BenchmarkZoneMapAsOf is the map of a city as of an instant: 1,000 zones
// of 20 versions each (20,000 versions over 20 hours, a quarter of the zones
// lifted at the end), generated with SQL; each query asks for a random
// instant (fixed seed) and reads every active version valid then, with its
// GeoJSON. current is the map of the current versions, for comparison.
//
//	go test ./zoning/postgis -run '^$' -bench 'ZoneMapAsOf' -benchtime 200x
func BenchmarkZoneMapAsOf(b *testing.B) {
	s := pgtest.NewStore(b)
	ctx := context.Background()
	base := time.Date(2022, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, sql := range []string{
		`INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '基准市', ST_Multi(ST_MakeEnvelope(116.9, 36.5, 117.2, 36.8, 4326)))`,
		`INSERT INTO zones (id, county_id, current_version, status, created_at)
		 SELECT z, 1, 20, CASE WHEN z % 4 = 0 THEN 'lifted' ELSE 'active' END, $1::timestamptz FROM generate_series(1, 1000) z`,
		`INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, unit_ids, population,
			staff_required, area_m2, rule_set_id, clock_start, clock_reason, valid_from, valid_to, reason)
		 SELECT z, v, 'high',
		        CASE WHEN v = 20 AND z % 4 = 0 THEN 'lifted' ELSE 'active' END,
		        CASE WHEN v = 1 THEN 'designate' WHEN v = 20 AND z % 4 = 0 THEN 'lift' ELSE 'adjust' END,
		        'Z' || z,
		        ST_Multi(ST_MakeEnvelope(117 + (z % 40) * 0.004, 36.6 + (z / 40) * 0.004,
		                                 117 + (z % 40) * 0.004 + 0.001 + v * 0.00005, 36.6 + (z / 40) * 0.004 + 0.002, 4326)),
		        ARRAY[z * 100 + v, z * 100 + v + 1]::bigint[], ARRAY[z * 1000 + v]::bigint[], 80 + v, 8, 30000,
		        '2022-11', '2022-11-20', 'designated on 2022-11-20',
		        $1::timestamptz + (v - 1) * interval '1 hour',
		        CASE WHEN v < 20 THEN $1::timestamptz + v * interval '1 hour' END,
		        'bench'
		 FROM generate_series(1, 1000) z, generate_series(1, 20) v`,
		`ANALYZE zones`,
		`ANALYZE zone_versions`,
	} {
		var args []any
		if strings.Contains(sql, "$1") {
			args = append(args, base)
		}
		if _, err := s.Pool.Exec(ctx, sql, args...); err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
	}
	z := postgis.Zones{S: s}
	b.Run("as-of", func(b *testing.B) {
		b.ReportAllocs()
		rng := rand.New(rand.NewSource(1))
		var ds []time.Duration
		for b.Loop() {
			at := base.Add(time.Duration(rng.Int63n(int64(20 * time.Hour))))
			t0 := time.Now()
			vs, err := z.List(ctx, zoning.ZoneFilter{CountyID: 1, At: at})
			ds = append(ds, time.Since(t0))
			if err != nil {
				b.Fatal(err)
			}
			want := 1000
			if at.Sub(base) >= 19*time.Hour {
				want = 750
			}
			if len(vs) != want {
				b.Fatalf("%d zones at %s, want %d", len(vs), at, want)
			}
		}
		reportLatency(b, ds)
	})
	b.Run("current", func(b *testing.B) {
		b.ReportAllocs()
		var ds []time.Duration
		for b.Loop() {
			t0 := time.Now()
			vs, err := z.List(ctx, zoning.ZoneFilter{CountyID: 1})
			ds = append(ds, time.Since(t0))
			if err != nil || len(vs) != 750 {
				b.Fatalf("%d zones (%v)", len(vs), err)
			}
		}
		reportLatency(b, ds)
	})
}
