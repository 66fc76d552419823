package postgis_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis"

	"github.com/riskzone/riskzone/zoning"
)

// A cluster that fits no level within the bounds gets the bounded
// fallback: the case building and the buildings within the fallback
// distance, but not across a barrier (the local road at x = 400), and the
// rationale says so.
func TestProposeBoundedFallbackStopsAtBarriers(t *testing.T) {
	sc := newScenario(t)
	mustExec(t, sc.s, `UPDATE rule_sets SET enlargement = '{"max_residents": 300, "fallback_distance_m": 100}'`)
	// Two buildings on the row of y = 300 beside the local road: 600 west
	// of it (90 m from the case building), 601 east of it (30 m).
	mustExec(t, sc.s, `INSERT INTO buildings (id, county_id, population, geom) VALUES
		(600, 1, 40, ST_Multi(ST_GeomFromText($1, 4326))), (601, 1, 40, ST_Multi(ST_GeomFromText($2, 4326)))`,
		wktPoly(350, 294, 390, 306), wktPoly(410, 294, 450, 306))
	seed := sc.at(3, 2) // (500,300)
	sc.addCase(seed, 1, "2022-11-20", "unknown_source")
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 {
		t.Fatalf("%d drafts, want 1", len(p.Drafts))
	}
	d := p.Drafts[0]
	want := ids(seed, 601, sc.at(4, 2), sc.at(3, 1), sc.at(3, 3)) // east 30 m; (600,300); (500,200); (500,400)
	if !slices.Equal(d.BuildingIDs, want) {
		t.Fatalf("buildings %v, want %v (building 600 is across the road)", d.BuildingIDs, want)
	}
	if len(d.Rationale.Enlargements) != 1 {
		t.Fatalf("enlargements %+v", d.Rationale.Enlargements)
	}
	e := d.Rationale.Enlargements[0]
	if e.Level != zoning.LevelNearby || !e.Fallback || e.Residents != 200 || e.SeedResidents != 40 || len(e.Tried) != 3 {
		t.Fatalf("enlargement %+v: want the nearby fallback of 200 residents after three refused levels", e)
	}
	for _, tr := range e.Tried {
		if tr.Accepted || len(tr.Refused) == 0 {
			t.Errorf("level %s: %+v, want refused", tr.Level, tr)
		}
	}
	en, zh := strings.Join(d.Rationale.Text.En, " "), strings.Join(d.Rationale.Text.Zh, "")
	for _, s := range []string{"bounded fallback", "within 100 m", "200 residents", "above the bound of 300"} {
		if !strings.Contains(en, s) {
			t.Errorf("rationale lacks %q: %s", s, en)
		}
	}
	if !strings.Contains(zh, "有界兜底") || !strings.Contains(zh, "100米内") {
		t.Errorf("zh rationale: %s", zh)
	}
}

// Estimated populations are marked, and a non-residential place seeded by
// a trace counts its day-time workers for staff: 480 m² × 3 floors / 20 m²
// per worker = 72 workers, 8 staff.
func TestProposeMarksEstimatesAndCountsWorkers(t *testing.T) {
	sc := newScenario(t)
	shop := sc.at(4, 5) // (600,700)
	mustExec(t, sc.s, `UPDATE buildings SET kind = 'commercial', population = 0, floors = 3 WHERE id = $1`, shop)
	mustExec(t, sc.s, `INSERT INTO places (id, name, kind, building_id, enclosed, geom) VALUES (1, '超市', 'supermarket', $1, true,
		(SELECT ST_PointOnSurface(geom) FROM buildings WHERE id = $1))`, shop)
	derived := sc.at(0, 0)
	mustExec(t, sc.s, `UPDATE buildings SET population_derived = true WHERE id = $1`, derived)
	mustExec(t, sc.s, `UPDATE units SET population_derived = true WHERE building_id = $1`, derived)
	c1 := sc.addCase(derived, 1, "2022-11-20")
	c2 := sc.addCase(sc.at(8, 7), 1, "2022-11-20")
	for _, c := range []int64{c1, c2} {
		mustExec(t, sc.s, `INSERT INTO traces (case_id, place_id, starts_at, ends_at) VALUES ($1, 1, '2022-11-18 18:00Z', '2022-11-18 18:30Z')`, c)
	}
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	found := 0
	for _, d := range p.Drafts {
		switch {
		case slices.Equal(d.BuildingIDs, []int64{shop}):
			found++
			if d.Population != 0 || d.Workers < 71 || d.Workers > 73 || d.StaffRequired != (d.Workers+9)/10 || !d.PopulationEstimated {
				t.Errorf("shop: population %d workers %d staff %d estimated %v; want 0, 72, 8, estimated", d.Population, d.Workers, d.StaffRequired, d.PopulationEstimated)
			}
		case slices.Equal(d.UnitIDs, []int64{sc.units[derived][0]}):
			found++
			if !d.PopulationEstimated || d.Workers != 0 {
				t.Errorf("unit of a building of estimated population: estimated %v workers %d", d.PopulationEstimated, d.Workers)
			}
		case slices.Equal(d.UnitIDs, []int64{sc.units[sc.at(8, 7)][0]}):
			found++
			if d.PopulationEstimated || d.StaffRequired != 2 {
				t.Errorf("counted unit: estimated %v staff %d", d.PopulationEstimated, d.StaffRequired)
			}
		}
	}
	if found != 3 {
		t.Fatalf("found %d of the 3 drafts in %+v", found, p.Drafts)
	}
	// The run as stored keeps the marks.
	run, _, err := postgisRun(sc, p.RunID)
	if err != nil {
		t.Fatal(err)
	}
	var workers int
	for _, d := range run.Drafts {
		workers += d.Workers
	}
	if workers < 71 || workers > 73 {
		t.Fatalf("stored run: %d workers", workers)
	}
}

func postgisRun(sc *scenario, id int64) (zoning.Proposal, []string, error) {
	return postgis.Proposals{S: sc.s}.Run(context.Background(), id)
}

// A rule set with bounds that cannot be meant is refused before anything
// is read or stored.
func TestProposeRefusesBadEnlargementBounds(t *testing.T) {
	sc := newScenario(t)
	sc.addCase(sc.at(3, 2), 1, "2022-11-20", "unknown_source")
	for _, bad := range []string{`{"max_ratio": 0.2}`, `{"max_residents": -3}`, `{"fallback_distance_m": 10000}`, `{"max_area": 5}`} {
		mustExec(t, sc.s, `UPDATE rule_sets SET enlargement = $1::jsonb`, bad)
		_, err := zoning.Propose(context.Background(), postgis.Proposals{S: sc.s}, zoning.ProposeRequest{CountyID: 1,
			At: time.Date(2022, 11, 21, 4, 0, 0, 0, time.UTC), Now: time.Now()}, nil)
		if !errors.Is(err, zoning.ErrInvalid) || !strings.Contains(err.Error(), "enlargement bounds") {
			t.Errorf("%s: %v, want an invalid enlargement bound", bad, err)
		}
	}
	var runs int
	if err := sc.s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM proposal_runs`).Scan(&runs); err != nil || runs != 0 {
		t.Fatalf("%d runs stored with bad bounds (%v)", runs, err)
	}
}

// A cluster inside a compound is enlarged to the compound, and the
// compound's outline counts as a barrier for the share of the boundary
// (no road or river is near it).
func TestProposeCompoundLevelFollowsItsOutline(t *testing.T) {
	sc := newScenario(t)
	mustExec(t, sc.s, `INSERT INTO compounds (name, geom) VALUES ('幸福家园', ST_Multi(ST_GeomFromText($1, 4326)))`, wktPoly(440, 150, 560, 350))
	seed := sc.at(3, 1) // (500,200)
	sc.addCase(seed, 1, "2022-11-20", "unknown_source")
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 {
		t.Fatalf("%d drafts", len(p.Drafts))
	}
	d := p.Drafts[0]
	if len(d.Rationale.Enlargements) != 1 || d.Rationale.Enlargements[0].Level != zoning.LevelCompound {
		t.Fatalf("enlargements %+v, want the compound", d.Rationale.Enlargements)
	}
	if !slices.Equal(d.BuildingIDs, ids(seed, sc.at(3, 2))) || d.Population != 80 {
		t.Fatalf("buildings %v population %d: want the two buildings of the compound", d.BuildingIDs, d.Population)
	}
	if d.Rationale.BoundaryOnBarriers < 0.99 {
		t.Fatalf("%.1f%% of the compound's boundary counted as on barriers, want all of it", 100*d.Rationale.BoundaryOnBarriers)
	}
	if !strings.Contains(strings.Join(d.Rationale.Text.Zh, ""), "按小区扩大") {
		t.Fatalf("zh rationale %v", d.Rationale.Text.Zh)
	}
}
