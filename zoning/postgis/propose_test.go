package postgis_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The scenario county is 1200 m x 1000 m in a local metric plane:
//
//	y=1000 +----------------------+---------+
//	       |   B       :          |    D    |
//	y=500  |===== secondary road =|=========|   (x = 400: a local road, not a boundary)
//	       |   A       :          |    C    |
//	y=0    +----------------------+---------+
//	       x=0        400        800 river  1200
//
// Buildings are 40 m x 12 m, two units each, on a grid that keeps clear of
// the roads and the river.
const (
	lon0 = 117.0
	lat0 = 36.65
)

func ll(x, y float64) (float64, float64) {
	return lon0 + x/(111320*math.Cos(lat0*math.Pi/180)), lat0 + y/110574
}

func wktPoly(x0, y0, x1, y1 float64) string {
	a, b := ll(x0, y0)
	c, d := ll(x1, y1)
	return fmt.Sprintf("POLYGON((%.8f %.8f,%.8f %.8f,%.8f %.8f,%.8f %.8f,%.8f %.8f))", a, b, c, b, c, d, a, d, a, b)
}

func wktLine(pts ...[2]float64) string {
	var s []string
	for _, p := range pts {
		a, b := ll(p[0], p[1])
		s = append(s, fmt.Sprintf("%.8f %.8f", a, b))
	}
	return "LINESTRING(" + strings.Join(s, ",") + ")"
}

type scenario struct {
	t      *testing.T
	s      *postgis.Store
	county int64
	// building id by grid position
	bld   map[[2]int]int64
	units map[int64][2]int64
	cases int
}

var gridX = []float64{60, 160, 260, 500, 600, 700, 900, 1000, 1100}
var gridY = []float64{100, 200, 300, 400, 600, 700, 800, 900}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	s := pgtest.NewStore(t)
	sc := &scenario{t: t, s: s, county: 1, bld: map[[2]int]int64{}, units: map[int64][2]int64{}}
	mustExec(t, s, `INSERT INTO admin_areas (id, level, name, geom) VALUES (1, 'county', '测试区', ST_Multi(ST_GeomFromText($1, 4326)))`, wktPoly(0, 0, 1200, 1000))
	mustExec(t, s, `INSERT INTO barriers (kind, road_class, name, geom) VALUES ('road', 'secondary', '建设路', ST_GeomFromText($1, 4326))`, wktLine([2]float64{-20, 500}, [2]float64{1220, 500}))
	mustExec(t, s, `INSERT INTO barriers (kind, road_class, name, geom) VALUES ('road', 'residential', '小巷', ST_GeomFromText($1, 4326))`, wktLine([2]float64{400, -20}, [2]float64{400, 1020}))
	mustExec(t, s, `INSERT INTO barriers (kind, name, geom) VALUES ('river', '清河', ST_GeomFromText($1, 4326))`, wktLine([2]float64{800, -20}, [2]float64{800, 1020}))
	id := int64(0)
	for i, x := range gridX {
		for j, y := range gridY {
			id++
			mustExec(t, s, `INSERT INTO buildings (id, county_id, population, addr_number, geom) VALUES ($1, 1, 40, $2, ST_Multi(ST_GeomFromText($3, 4326)))`,
				id, fmt.Sprint(id), wktPoly(x-20, y-6, x+20, y+6))
			mustExec(t, s, `INSERT INTO units (id, building_id, number, name, population, geom) VALUES
				($1, $2, 1, '一单元', 20, ST_Multi(ST_GeomFromText($3, 4326))),
				($4, $2, 2, '二单元', 20, ST_Multi(ST_GeomFromText($5, 4326)))`,
				id*10+1, id, wktPoly(x-20, y-6, x, y+6), id*10+2, wktPoly(x, y-6, x+20, y+6))
			sc.bld[[2]int{i, j}] = id
			sc.units[id] = [2]int64{id*10 + 1, id*10 + 2}
		}
	}
	for _, table := range []string{"admin_areas", "buildings", "units"} {
		mustExec(t, s, `SELECT setval(pg_get_serial_sequence($1, 'id'), 10000)`, table)
	}
	return sc
}

// at returns the building at grid position (x index, y index).
func (sc *scenario) at(i, j int) int64 { return sc.bld[[2]int{i, j}] }

// addCase registers a case in unit (1 or 2) of building b, reported on day.
func (sc *scenario) addCase(b int64, unit int, day string, opts ...string) int64 {
	sc.t.Helper()
	sc.cases++
	var id int64
	excl, known := "", true
	for _, o := range opts {
		switch {
		case o == "unknown_source":
			known = false
		case strings.HasPrefix(o, "excluded:"):
			excl = strings.TrimPrefix(o, "excluded:")
		}
	}
	var unitID any
	if unit > 0 {
		unitID = sc.units[b][unit-1]
	}
	var exclArg, assess, exAt any
	if excl != "" {
		exclArg, assess, exAt = excl, "assessed: no spread risk outside", time.Now()
	}
	err := sc.s.Pool.QueryRow(context.Background(), `INSERT INTO cases (case_no, county_id, kind, report_date, residence_unit_id,
		residence_building_id, source_known, exclusion_category, exclusion_assessment, excluded_at)
		VALUES ($1, 1, 'confirmed', $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		fmt.Sprintf("C%03d", sc.cases), day, unitID, b, known, exclArg, assess, exAt).Scan(&id)
	if err != nil {
		sc.t.Fatal(err)
	}
	return id
}

func (sc *scenario) propose(at string, p zoning.ProposeParams) zoning.Proposal {
	sc.t.Helper()
	tm, err := time.Parse(time.DateOnly, at)
	if err != nil {
		sc.t.Fatal(err)
	}
	prop, err := zoning.Propose(context.Background(), postgis.Proposals{S: sc.s}, zoning.ProposeRequest{
		CountyID: sc.county, At: tm.Add(20 * time.Hour), Params: p, Now: time.Now()}, nil)
	if err != nil {
		sc.t.Fatalf("propose: %v", err)
	}
	return prop
}

// areaM2 of the intersection of proposal i's geometry with a local rectangle.
func (sc *scenario) overlap(d zoning.Draft, x0, y0, x1, y1 float64) float64 {
	sc.t.Helper()
	var a float64
	err := sc.s.Pool.QueryRow(context.Background(), `SELECT ST_Area(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326),
		ST_GeomFromText($2, 4326))::geography)`, string(d.GeoJSON), wktPoly(x0, y0, x1, y1)).Scan(&a)
	if err != nil {
		sc.t.Fatal(err)
	}
	return a
}

func ids(xs ...int64) []int64 { slices.Sort(xs); return xs }

func TestProposeOneCaseIsItsUnit(t *testing.T) {
	sc := newScenario(t)
	b := sc.at(0, 0)
	sc.addCase(b, 2, "2022-11-20")
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 {
		t.Fatalf("%d drafts, want 1", len(p.Drafts))
	}
	d := p.Drafts[0]
	if !slices.Equal(d.UnitIDs, []int64{sc.units[b][1]}) || len(d.BuildingIDs) != 0 {
		t.Fatalf("members: buildings %v units %v; want only unit %d", d.BuildingIDs, d.UnitIDs, sc.units[b][1])
	}
	if d.Population != 20 || d.StaffRequired != 2 {
		t.Fatalf("population %d staff %d; want 20 and 2", d.Population, d.StaffRequired)
	}
	// The geometry is the unit: 20 m x 12 m.
	if math.Abs(d.AreaM2-240) > 3 {
		t.Fatalf("area %.1f m², want 240", d.AreaM2)
	}
	if got := sc.overlap(d, 40, 94, 60, 106); got > 1 {
		t.Fatalf("the other unit is %.1f m² inside", got)
	}
	if len(d.Rationale.CaseIDs) != 1 || d.Rationale.Enlarged {
		t.Fatalf("rationale %+v", d.Rationale)
	}
}

func TestProposeTwoUnitsOfABuilding(t *testing.T) {
	sc := newScenario(t)
	b := sc.at(1, 1)
	sc.addCase(b, 1, "2022-11-19")
	sc.addCase(b, 2, "2022-11-20")
	// Default rule: cases in two units designate the whole building.
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 || !slices.Equal(p.Drafts[0].BuildingIDs, []int64{b}) {
		t.Fatalf("drafts %+v; want building %d", p.Drafts, b)
	}
	if !slices.Equal(p.Drafts[0].UnitIDs, ids(sc.units[b][0], sc.units[b][1])) || p.Drafts[0].Population != 40 {
		t.Fatalf("units %v population %d", p.Drafts[0].UnitIDs, p.Drafts[0].Population)
	}
	// With building promotion off, the two units (touching) merge into one draft of units.
	never := 0
	p = sc.propose("2022-11-21", zoning.ProposeParams{BuildingMinUnits: &never})
	if len(p.Drafts) != 1 || len(p.Drafts[0].BuildingIDs) != 0 || len(p.Drafts[0].UnitIDs) != 2 {
		t.Fatalf("with promotion off: %+v", p.Drafts)
	}
}

func TestProposeIgnoresExcludedAndOutOfWindow(t *testing.T) {
	sc := newScenario(t)
	excluded := sc.addCase(sc.at(0, 0), 1, "2022-11-20", "excluded:home_quarantine")
	old := sc.addCase(sc.at(1, 0), 1, "2022-10-01")
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 0 {
		t.Fatalf("%d drafts from an excluded and an old case", len(p.Drafts))
	}
	want := []zoning.Ignored{{CaseID: excluded, Reason: "excluded:home_quarantine"}, {CaseID: old, Reason: "before_window"}}
	if !slices.Equal(p.Ignored, want) {
		t.Fatalf("ignored %+v, want %+v", p.Ignored, want)
	}
}

func TestProposeHighRiskPlace(t *testing.T) {
	sc := newScenario(t)
	gym := sc.at(4, 5) // x=600, y=700
	mustExec(t, sc.s, `INSERT INTO places (id, name, kind, building_id, enclosed, geom) VALUES (1, '健身房', 'gym', $1, true,
		(SELECT ST_PointOnSurface(geom) FROM buildings WHERE id = $1))`, gym)
	c1 := sc.addCase(sc.at(0, 0), 1, "2022-11-20")
	c2 := sc.addCase(sc.at(8, 7), 1, "2022-11-20")
	for _, c := range []int64{c1, c2} {
		mustExec(t, sc.s, `INSERT INTO traces (case_id, place_id, starts_at, ends_at) VALUES ($1, 1, '2022-11-18 18:00Z', '2022-11-18 19:00Z')`, c)
	}
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	var found *zoning.Draft
	for i := range p.Drafts {
		if slices.Contains(p.Drafts[i].BuildingIDs, gym) {
			found = &p.Drafts[i]
		}
	}
	if found == nil || len(found.BuildingIDs) != 1 {
		t.Fatalf("no draft of the gym's building %d alone: %+v", gym, p.Drafts)
	}
	if !slices.Equal(found.Rationale.PlaceIDs, []int64{1}) || !slices.Equal(found.Rationale.CaseIDs, ids(c1, c2)) {
		t.Fatalf("rationale %+v", found.Rationale)
	}
	if len(p.Drafts) != 3 {
		t.Fatalf("%d drafts; want the gym and the two residences", len(p.Drafts))
	}
}

// Cases in three buildings of block A within three days: the zone is the
// finest closed block holding them (issue 17: compound, then the fine block
// of local roads, then the coarse block), the east half of block A between
// the local road, the secondary road, the river and the county edge. The
// county edge is not a barrier: 400 m of the 1,800 m boundary do not count.
func TestProposeSpreadClusterIsItsBlock(t *testing.T) {
	sc := newScenario(t)
	sc.addCase(sc.at(4, 1), 1, "2022-11-18") // (600,200)
	sc.addCase(sc.at(5, 1), 1, "2022-11-19") // (700,200)
	sc.addCase(sc.at(4, 2), 1, "2022-11-20") // (600,300)
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 {
		t.Fatalf("%d drafts, want 1: %+v", len(p.Drafts), p.Drafts)
	}
	d := p.Drafts[0]
	block := 400.0 * 500
	if math.Abs(d.AreaM2-block)/block > 0.01 {
		t.Fatalf("area %.0f m², want the fine block %.0f", d.AreaM2, block)
	}
	if got := sc.overlap(d, 400, 0, 800, 500); math.Abs(got-block)/block > 0.01 {
		t.Fatalf("zone covers %.0f m² of the fine block", got)
	}
	// Every building of the fine block, none elsewhere.
	var want []int64
	for i, x := range gridX {
		for j, y := range gridY {
			if x > 400 && x < 800 && y < 500 {
				want = append(want, sc.at(i, j))
			}
		}
	}
	slices.Sort(want)
	if !slices.Equal(d.BuildingIDs, want) {
		t.Fatalf("buildings %v, want %v", d.BuildingIDs, want)
	}
	if len(d.Rationale.Enlargements) != 1 || d.Rationale.Enlargements[0].Level != zoning.LevelFineBlock {
		t.Fatalf("enlargements %+v, want the fine block", d.Rationale.Enlargements)
	}
	if share := d.Rationale.BoundaryOnBarriers; !d.Rationale.Enlarged || math.Abs(share-1400.0/1800) > 0.02 {
		t.Fatalf("rationale %+v: want enlarged with 1400/1800 of the boundary on barriers (county edge not counted)", d.Rationale)
	}
	kinds := map[string]bool{}
	for _, b := range d.BoundaryBarriers {
		kinds[b.Kind+"/"+b.RoadClass] = true
	}
	if !kinds["river/"] || !kinds["road/secondary"] || !kinds["road/residential"] {
		t.Fatalf("boundary barriers %+v: want the river, the secondary and the local road", d.BoundaryBarriers)
	}
	if d.Population != 40*len(want) || d.StaffRequired != (40*len(want)+9)/10 {
		t.Fatalf("population %d staff %d", d.Population, d.StaffRequired)
	}
}

// A cluster on both sides of the secondary road takes the fine blocks on
// both sides (with bounds that allow their 400,000 m²); the river and the
// local road still bound it.
func TestProposeClusterAcrossRoadTakesBothBlocks(t *testing.T) {
	sc := newScenario(t)
	mustExec(t, sc.s, `UPDATE rule_sets SET enlargement = '{"max_area_m2": 1000000}'`)
	sc.addCase(sc.at(4, 3), 1, "2022-11-19") // (600,400)
	sc.addCase(sc.at(5, 3), 1, "2022-11-19") // (700,400)
	sc.addCase(sc.at(4, 4), 1, "2022-11-20") // (600,600)
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 {
		t.Fatalf("%d drafts, want 1", len(p.Drafts))
	}
	d := p.Drafts[0]
	if a := sc.overlap(d, 400, 0, 800, 1000); math.Abs(a-400*1000)/(400*1000) > 0.01 {
		t.Fatalf("covers %.0f m² of the two fine blocks, want %d", a, 400*1000)
	}
	if a := sc.overlap(d, 800, 0, 1200, 1000); a > 10 {
		t.Fatalf("crosses the river: %.0f m² east of it", a)
	}
	if a := sc.overlap(d, 0, 0, 400, 1000); a > 10 {
		t.Fatalf("crosses the local road: %.0f m² west of it", a)
	}
}

// Cases on the west bank only: the zone stops at the river.
func TestProposeStopsAtTheRiver(t *testing.T) {
	sc := newScenario(t)
	sc.addCase(sc.at(5, 0), 1, "2022-11-19") // (700,100)
	sc.addCase(sc.at(5, 1), 1, "2022-11-19") // (700,200)
	sc.addCase(sc.at(5, 2), 2, "2022-11-20", "unknown_source")
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 1 {
		t.Fatalf("%d drafts", len(p.Drafts))
	}
	d := p.Drafts[0]
	if a := sc.overlap(d, 800, 0, 1200, 1000); a > 10 {
		t.Fatalf("%.0f m² east of the river", a)
	}
	for _, b := range d.BuildingIDs {
		for i, x := range gridX {
			for j := range gridY {
				if sc.at(i, j) == b && x > 800 {
					t.Fatalf("building %d east of the river is a member", b)
				}
			}
		}
	}
	var river bool
	for _, b := range d.BoundaryBarriers {
		river = river || (b.Kind == "river" && b.LengthM > 400)
	}
	if !river {
		t.Fatalf("the river is not on the boundary: %+v", d.BoundaryBarriers)
	}
}

// No boundary of a building-level zone cuts a building (unit-level zones
// take units by design), and low-risk = county minus high-risk.
func TestProposeNeverCutsBuildingsAndLowRiskIsTheRest(t *testing.T) {
	sc := newScenario(t)
	// A building straddling the secondary road: mostly (9 of 12 m) in block A.
	mustExec(t, sc.s, `INSERT INTO buildings (id, county_id, population, geom) VALUES (500, 1, 30, ST_Multi(ST_GeomFromText($1, 4326)))`, wktPoly(480, 491, 520, 503))
	sc.addCase(sc.at(3, 1), 1, "2022-11-19")
	sc.addCase(sc.at(4, 1), 1, "2022-11-19")
	sc.addCase(sc.at(3, 2), 1, "2022-11-20")
	sc.addCase(sc.at(8, 7), 1, "2022-11-20") // a lone case far away
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	var straddler bool
	for _, d := range p.Drafts {
		straddler = straddler || slices.Contains(d.BuildingIDs, 500)
	}
	if !straddler {
		t.Fatal("the building mostly inside block A is not a member")
	}
	ctx := context.Background()
	var cut int
	var high, low, county float64
	err := sc.s.Pool.QueryRow(ctx, `
		WITH z AS (SELECT ST_Union(geom) AS g FROM proposals WHERE run_id = $1 AND cardinality(building_ids) > 0)
		SELECT (SELECT count(*) FROM buildings b, z
		        WHERE ST_Area(ST_Intersection(b.geom, z.g)) > 0.001 * ST_Area(b.geom)
		          AND ST_Area(ST_Intersection(b.geom, z.g)) < 0.999 * ST_Area(b.geom)),
		       (SELECT ST_Area(ST_Union(geom)::geography) FROM proposals WHERE run_id = $1),
		       (SELECT ST_Area(low_risk_geom::geography) FROM proposal_runs WHERE id = $1),
		       (SELECT ST_Area(geom::geography) FROM admin_areas WHERE id = 1)`, p.RunID).Scan(&cut, &high, &low, &county)
	if err != nil {
		t.Fatal(err)
	}
	if cut != 0 {
		rows, _ := sc.s.Pool.Query(ctx, `WITH z AS (SELECT ST_Union(geom) AS g FROM proposals WHERE run_id = $1 AND cardinality(building_ids) > 0)
			SELECT b.id, ST_Area(ST_Intersection(b.geom, z.g)) / ST_Area(b.geom) FROM buildings b, z
			WHERE ST_Area(ST_Intersection(b.geom, z.g)) > 0.001 * ST_Area(b.geom)
			  AND ST_Area(ST_Intersection(b.geom, z.g)) < 0.999 * ST_Area(b.geom)`, p.RunID)
		for rows.Next() {
			var id int64
			var share float64
			_ = rows.Scan(&id, &share)
			t.Logf("building %d: %.3f inside", id, share)
		}
		rows.Close()
		t.Fatalf("%d buildings cut by a zone boundary", cut)
	}
	if math.Abs(high+low-county)/county > 1e-4 { // GeoJSON keeps 7 decimals (~1 cm)
		t.Fatalf("high %.0f + low %.0f != county %.0f", high, low, county)
	}
}

func TestProposeIsDeterministic(t *testing.T) {
	sc := newScenario(t)
	sc.addCase(sc.at(4, 1), 1, "2022-11-18")
	sc.addCase(sc.at(5, 1), 1, "2022-11-19")
	sc.addCase(sc.at(4, 2), 1, "2022-11-20")
	sc.addCase(sc.at(0, 7), 2, "2022-11-20")
	sc.addCase(sc.at(8, 7), 1, "2022-11-20")
	a := sc.propose("2022-11-21", zoning.ProposeParams{})
	b := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(a.Drafts) != 3 || len(a.Drafts) != len(b.Drafts) {
		t.Fatalf("%d vs %d drafts", len(a.Drafts), len(b.Drafts))
	}
	for i := range a.Drafts {
		if a.Drafts[i].Key != b.Drafts[i].Key || string(a.Drafts[i].GeoJSON) != string(b.Drafts[i].GeoJSON) {
			t.Fatalf("draft %d differs between runs", i)
		}
	}
	if a.RunID == b.RunID {
		t.Fatal("both runs stored under one id")
	}
}

func TestProposeBadInput(t *testing.T) {
	sc := newScenario(t)
	src := postgis.Proposals{S: sc.s}
	ctx := context.Background()
	now := time.Now()
	count := func() int {
		var n int
		if err := sc.s.Pool.QueryRow(ctx, "SELECT count(*) FROM proposal_runs").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cases := map[string]struct {
		req  zoning.ProposeRequest
		kind error
	}{
		"unknown county": {zoning.ProposeRequest{CountyID: 999, At: now, Now: now}, zoning.ErrNotFound},
		"not a county":   {zoning.ProposeRequest{CountyID: -1, At: now, Now: now}, zoning.ErrInvalid},
		"future":         {zoning.ProposeRequest{CountyID: 1, At: now.Add(48 * time.Hour), Now: now}, zoning.ErrInvalid},
		"bad params":     {zoning.ProposeRequest{CountyID: 1, At: now, Now: now, Params: zoning.ProposeParams{H3Resolution: 15}}, zoning.ErrInvalid},
		"bad class":      {zoning.ProposeRequest{CountyID: 1, At: now, Now: now, Params: zoning.ProposeParams{BoundaryKinds: []string{"moat"}}}, zoning.ErrInvalid},
	}
	for name, c := range cases {
		_, err := zoning.Propose(ctx, src, c.req, nil)
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	if _, err := zoning.ParseProposeParams([]byte(`{"window_days": "x"}`)); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("malformed params JSON: %v", err)
	}
	if _, err := zoning.ParseProposeParams([]byte(`{"windowdays": 3}`)); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("unknown param: %v", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d runs stored by bad requests", n)
	}
}

// The barrier blocks are cached per county and rebuilt when the barriers change.
func TestBlockCacheRebuildsWhenBarriersChange(t *testing.T) {
	sc := newScenario(t)
	ctx := context.Background()
	src := postgis.Proposals{S: sc.s}
	params := zoning.DefaultProposeParams()
	first, err := src.BlockSet(ctx, 1, params)
	if err != nil {
		t.Fatal(err)
	}
	var blocks int
	if err := sc.s.Pool.QueryRow(ctx, "SELECT block_count FROM barrier_block_sets WHERE id = $1", first).Scan(&blocks); err != nil || blocks != 4 {
		t.Fatalf("%d blocks (%v), want the 4 of the scenario", blocks, err)
	}
	again, err := src.BlockSet(ctx, 1, params)
	if err != nil || again != first {
		t.Fatalf("warm cache: set %d (%v), want %d reused", again, err, first)
	}
	// A new primary road across block A, announced by the barriers layer version.
	mustExec(t, sc.s, `INSERT INTO barriers (kind, road_class, name, geom) VALUES ('road', 'primary', '新路', ST_GeomFromText($1, 4326))`,
		wktLine([2]float64{-20, 250}, [2]float64{820, 250}))
	mustExec(t, sc.s, `UPDATE layer_versions SET version = version + 1 WHERE layer = 'barriers'`)
	rebuilt, err := src.BlockSet(ctx, 1, params)
	if err != nil || rebuilt == first {
		t.Fatalf("after a barrier change: set %d (%v), want a new set", rebuilt, err)
	}
	if err := sc.s.Pool.QueryRow(ctx, "SELECT block_count FROM barrier_block_sets WHERE id = $1", rebuilt).Scan(&blocks); err != nil || blocks != 5 {
		t.Fatalf("%d blocks after the new road, want 5", blocks)
	}
	// Other boundary classes make another cached set; the local road at x=400 now cuts too.
	params.BoundaryRoadClasses = append(params.BoundaryRoadClasses, "residential")
	local, err := src.BlockSet(ctx, 1, params)
	if err != nil || local == rebuilt {
		t.Fatalf("set for other classes: %d (%v)", local, err)
	}
	if err := sc.s.Pool.QueryRow(ctx, "SELECT block_count FROM barrier_block_sets WHERE id = $1", local).Scan(&blocks); err != nil || blocks != 8 {
		t.Fatalf("%d blocks with local roads, want 8", blocks)
	}
}
