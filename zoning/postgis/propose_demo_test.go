package postgis_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

var demoToday = time.Date(2022, 11, 21, 0, 0, 0, 0, time.UTC)

func loadDemo(tb testing.TB, buildings int) (*postgis.Store, int64) {
	tb.Helper()
	s := pgtest.NewStore(tb)
	ctx := context.Background()
	if _, err := demo.Load(ctx, s, demo.Options{Seed: 1, Buildings: buildings, Today: demoToday}, nil); err != nil {
		tb.Fatalf("load demo city: %v", err)
	}
	var county int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM admin_areas WHERE level = 'county' ORDER BY id LIMIT 1`).Scan(&county); err != nil {
		tb.Fatal(err)
	}
	return s, county
}

// On the demo city the proposals obey the default enlargement bounds
// (issue 17): every enlarged part holds at most the bounded residents, area
// and ratio; parts drawn on compounds or blocks follow barriers or compound
// outlines for at least 90% of their boundary (the county edge not
// counted); no building is cut. The proposals are recorded in
// testdata/propose_demo_golden.json (count, area, residents, level per
// proposal); RISKZONE_UPDATE_GOLDEN=1 rewrites it.
func TestProposeOnDemoCityFollowsBarriers(t *testing.T) {
	s, county := loadDemo(t, 6000)
	ctx := context.Background()
	p, err := zoning.Propose(ctx, postgis.Proposals{S: s}, zoning.ProposeRequest{CountyID: county, At: demoToday.Add(12 * time.Hour), Now: time.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := zoning.DefaultEnlargementBounds()
	enlarged := 0
	for _, d := range p.Drafts {
		for _, e := range d.Rationale.Enlargements {
			enlarged++
			t.Logf("%s: cluster %d at %s, %d residents, %.0f m², boundary on barriers %.1f%%", d.Name, e.ClusterID, e.Level, e.Residents, e.AreaM2, 100*d.Rationale.BoundaryOnBarriers)
			if e.Level == zoning.LevelBuilding {
				continue // the case buildings alone: high-risk whatever their size
			}
			if e.Residents > b.MaxResidents || e.AreaM2 > b.MaxAreaM2 || float64(e.Residents) > b.MaxRatio*float64(max(e.SeedResidents, 1)) {
				t.Errorf("%s: cluster %d enlarged to %s beyond the bounds: %d residents (seeded %d), %.0f m²", d.Name, e.ClusterID, e.Level, e.Residents, e.SeedResidents, e.AreaM2)
			}
			if e.Level != zoning.LevelNearby && d.Rationale.BoundaryOnBarriers < 0.9 {
				t.Errorf("%s: only %.1f%% of the boundary follows barriers", d.Name, 100*d.Rationale.BoundaryOnBarriers)
			}
		}
	}
	if enlarged == 0 {
		t.Fatalf("the demo outbreak produced no spread cluster (%d drafts, %d clusters)", len(p.Drafts), len(p.Clusters))
	}
	var cut int
	if err := s.Pool.QueryRow(ctx, `WITH z AS (SELECT ST_Union(geom) AS g FROM proposals WHERE run_id = $1 AND cardinality(building_ids) > 0)
		SELECT count(*) FROM buildings b, z WHERE ST_Intersects(b.geom, z.g)
		  AND ST_Area(ST_Intersection(b.geom, z.g)) BETWEEN 0.001 * ST_Area(b.geom) AND 0.999 * ST_Area(b.geom)`, p.RunID).Scan(&cut); err != nil {
		t.Fatal(err)
	}
	if cut != 0 {
		t.Fatalf("%d buildings cut by a zone boundary", cut)
	}
	if len(p.Ignored) == 0 {
		t.Fatal("the demo's excluded cases were not listed as ignored")
	}
	compareGolden(t, "testdata/propose_demo_golden.json", demoGolden(p))
}

// BenchmarkProposeDemoCity: propose on a demo county with a warm block cache.
// Sizes follow the issue: 100,000 buildings with ~1,000 cases and ~10,000
// traces; 1,000,000 buildings (RISKZONE_BENCH_LARGE=1) with ~10,000 cases
// and ~100,000 traces. Extra traces are added to reach the trace counts.
func BenchmarkProposeDemoCity(b *testing.B) {
	sizes := []int{100000}
	if os.Getenv("RISKZONE_BENCH_LARGE") == "1" {
		sizes = append(sizes, 1000000)
	}
	for _, n := range sizes {
		b.Run("buildings="+strconv.Itoa(n), func(b *testing.B) {
			s, county := loadDemo(b, n)
			ctx := context.Background()
			var cases, traces int
			// Top the traces up to ten per case, at places visited by the outbreak.
			if _, err := s.Pool.Exec(ctx, `INSERT INTO traces (case_id, place_id, building_id, activity, starts_at, ends_at, h3_r11)
				SELECT c.id, p.id, p.building_id, 'shopping', c.report_date - 3 + time '10:00', c.report_date - 3 + time '10:30', NULL
				FROM cases c CROSS JOIN LATERAL (SELECT id, building_id FROM places ORDER BY id OFFSET (c.id * 7) % 500 LIMIT 8) p`); err != nil {
				b.Fatal(err)
			}
			if err := s.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM traces)`).Scan(&cases, &traces); err != nil {
				b.Fatal(err)
			}
			src := postgis.Proposals{S: s}
			if os.Getenv("RISKZONE_BENCH_STEPS") == "1" {
				src.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			req := zoning.ProposeRequest{CountyID: county, At: demoToday.Add(12 * time.Hour), Now: time.Now()}
			start := time.Now()
			if _, err := src.BlockSet(ctx, county, zoning.DefaultProposeParams()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(start).Milliseconds()), "cold-block-ms")
			b.ReportMetric(float64(cases), "cases")
			b.ReportMetric(float64(traces), "traces")
			var drafts int
			var ms runtime.MemStats
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := zoning.Propose(ctx, src, req, nil)
				if err != nil {
					b.Fatal(err)
				}
				drafts = len(p.Drafts)
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(drafts), "drafts")
			b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MiB")
			fmt.Fprintf(os.Stderr, "propose on %d buildings: %d cases, %d traces, %d drafts\n", n, cases, traces, drafts)
		})
	}
}
