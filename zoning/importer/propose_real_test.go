package importer

import (
	"slices"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// On the real extract the engine finds barrier blocks, and a spread cluster
// of cases in four buildings of the county with the most buildings is
// enlarged within the bounds: the coarse block there is the county outline
// (the valley's main roads and the Rhine do not close it) and is refused,
// and an enlargement drawn on blocks follows barriers (issue 17 changed
// this test: it used to take that 10 km² block).
func TestProposeOnRealExtractFollowsBarriers(t *testing.T) {
	im, s := newImporter(t)
	importOK(t, im, liechtensteinPBF(t), Options{Kind: KindOSM, AdminLevels: liechtensteinLevels})
	ctx := ctxT(t)
	var county int64
	var name string
	if err := s.Pool.QueryRow(ctx, `SELECT a.id, a.name FROM admin_areas a JOIN buildings b ON ST_Intersects(a.geom, b.geom)
		WHERE a.level = 'county' GROUP BY a.id ORDER BY count(*) DESC, a.id LIMIT 1`).Scan(&county, &name); err != nil {
		t.Fatal(err)
	}
	src := postgis.Proposals{S: s}
	set, err := src.BlockSet(ctx, county, zoning.DefaultProposeParams())
	if err != nil {
		t.Fatal(err)
	}
	var blocks int
	if err := s.Pool.QueryRow(ctx, `SELECT block_count FROM barrier_block_sets WHERE id = $1`, set).Scan(&blocks); err != nil || blocks < 5 {
		t.Fatalf("%s: %d barrier blocks (%v); want the county cut by its barriers", name, blocks, err)
	}
	// Four buildings near the densest building of the county, inside it.
	rows, err := s.Pool.Query(ctx, `
		WITH c AS (SELECT geom FROM admin_areas WHERE id = $1),
		     seed AS (SELECT b.id, b.geom FROM buildings b, c WHERE ST_Within(b.geom, c.geom)
		              ORDER BY (SELECT count(*) FROM buildings o WHERE ST_DWithin(o.geom, b.geom, 0.002)) DESC, b.id LIMIT 1)
		SELECT b.id FROM buildings b, seed, c WHERE ST_Within(b.geom, c.geom)
		ORDER BY ST_Distance(b.geom, seed.geom), b.id LIMIT 4`, county)
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
	day := time.Date(2022, 11, 20, 0, 0, 0, 0, time.UTC)
	for i, b := range ids {
		if _, err := s.Pool.Exec(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, residence_building_id)
			VALUES ($1, $2, 'confirmed', $3, $4)`, "LI"+string(rune('A'+i)), county, day, b); err != nil {
			t.Fatal(err)
		}
	}
	p, err := zoning.Propose(ctx, src, zoning.ProposeRequest{CountyID: county, At: day.Add(20 * time.Hour), Now: time.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var enlarged int
	for _, d := range p.Drafts {
		if !d.Rationale.Enlarged {
			continue
		}
		enlarged++
		t.Logf("%s: %d buildings, %.0f m², %.1f%% of the boundary on barriers, %d boundary barriers",
			name, len(d.BuildingIDs), d.AreaM2, 100*d.Rationale.BoundaryOnBarriers, len(d.BoundaryBarriers))
		for _, s := range d.Rationale.Text.En {
			t.Logf("  %s", s)
		}
		if len(d.Rationale.Enlargements) != 1 {
			t.Fatalf("enlargements %+v, want one", d.Rationale.Enlargements)
		}
		e := d.Rationale.Enlargements[0]
		b := zoning.DefaultEnlargementBounds()
		if e.Residents > b.MaxResidents || e.AreaM2 > b.MaxAreaM2 {
			t.Errorf("enlarged to %s beyond the bounds: %d residents, %.0f m²", e.Level, e.Residents, e.AreaM2)
		}
		var coarse zoning.LevelTry
		for _, tr := range e.Tried {
			if tr.Level == zoning.LevelCoarseBlock {
				coarse = tr
			}
		}
		if e.Level == zoning.LevelCoarseBlock || !slices.Contains(coarse.Refused, zoning.RefusedCountyEdge) {
			t.Errorf("level %s, tried %+v: want the county-outline block refused", e.Level, e.Tried)
		}
		if e.Level != zoning.LevelNearby && d.Rationale.BoundaryOnBarriers < 0.9 {
			t.Errorf("only %.1f%% of the enlarged zone's boundary follows barriers", 100*d.Rationale.BoundaryOnBarriers)
		}
		if len(d.BuildingIDs) <= len(ids) {
			t.Errorf("the enlarged zone holds %d buildings, no more than the %d case buildings", len(d.BuildingIDs), len(ids))
		}
	}
	if enlarged != 1 {
		t.Fatalf("%d enlarged zones, want 1 (drafts %d, clusters %+v)", enlarged, len(p.Drafts), p.Clusters)
	}
}
