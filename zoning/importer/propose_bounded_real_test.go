package importer

import (
	"fmt"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Issue 17 §1 on the real Alpine extract: 30 building cases in neighbouring
// buildings of Vaduz, reported within three days (a spread cluster), give
// zones within the default enlargement bounds whose boundary follows
// barriers or compound outlines for at least 90% of its length, the county
// edge not counted.
func TestProposeBoundedOnRealExtract(t *testing.T) {
	im, s := newImporter(t)
	importOK(t, im, liechtensteinPBF(t), Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	ctx := ctxT(t)
	var county int64
	var name string
	if err := s.Pool.QueryRow(ctx, `SELECT id, name FROM admin_areas WHERE level = 'county' AND name = 'Vaduz'`).Scan(&county, &name); err != nil {
		t.Fatalf("county Vaduz: %v", err)
	}
	// The 30 residential buildings nearest to the densest one of Vaduz.
	rows, err := s.Pool.Query(ctx, `
		WITH c AS (SELECT geom FROM admin_areas WHERE id = $1),
		     res AS (SELECT b.id, b.geom FROM buildings b, c WHERE ST_Within(b.geom, c.geom) AND b.kind = 'residential' AND b.population > 0),
		     seed AS (SELECT r.id, r.geom FROM res r
		              ORDER BY (SELECT count(*) FROM res o WHERE ST_DWithin(o.geom, r.geom, 0.002)) DESC, r.id LIMIT 1)
		SELECT r.id FROM res r, seed ORDER BY ST_Distance(r.geom, seed.geom), r.id LIMIT 30`, county)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 30 {
		t.Fatalf("%d residential buildings in %s, want 30", len(ids), name)
	}
	day := time.Date(2022, 11, 20, 0, 0, 0, 0, time.UTC)
	for i, b := range ids {
		if _, err := s.Pool.Exec(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id)
			VALUES ($1, $2, 'confirmed', $3, $4)`, fmt.Sprintf("VA%02d", i), county, day.AddDate(0, 0, -(i%3)), b); err != nil {
			t.Fatal(err)
		}
	}
	// 20:00 UTC is 04:00 the next day in Beijing: the window ends on 11-21.
	p, err := zoning.Propose(ctx, postgis.Proposals{S: s}, zoning.ProposeRequest{CountyID: county, At: day.Add(20 * time.Hour), Now: time.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := zoning.DefaultEnlargementBounds()
	held := map[int64]bool{}
	var residents int
	var area float64
	for _, d := range p.Drafts {
		for _, id := range d.BuildingIDs {
			held[id] = true
		}
		residents += d.Population
		area += d.AreaM2
		var levels []string
		for _, e := range d.Rationale.Enlargements {
			levels = append(levels, e.Level)
		}
		t.Logf("%s %s: %d buildings, %d residents, %.0f m², levels %v, %.1f%% of the boundary on barriers or compound outlines",
			name, d.Name, len(d.BuildingIDs), d.Population, d.AreaM2, levels, 100*d.Rationale.BoundaryOnBarriers)
		for _, s := range d.Rationale.Text.En {
			t.Logf("  %s", s)
		}
		if d.Population > b.MaxResidents || d.AreaM2 > b.MaxAreaM2 {
			t.Errorf("%s: %d residents, %.0f m²: beyond the default bounds (%d, %.0f m²)", d.Name, d.Population, d.AreaM2, b.MaxResidents, b.MaxAreaM2)
		}
		if d.Rationale.BoundaryOnBarriers < 0.9 {
			t.Errorf("%s: only %.1f%% of the boundary follows barriers or compound outlines", d.Name, 100*d.Rationale.BoundaryOnBarriers)
		}
	}
	t.Logf("%s: %d proposals, %d residents, %.0f m² in all", name, len(p.Drafts), residents, area)
	for _, id := range ids {
		if !held[id] {
			t.Errorf("case building %d is in no proposal", id)
		}
	}
}
