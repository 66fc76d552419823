package importer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/riskzone/riskzone/geo"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The units clipped in Go are what PostGIS makes of the same footprint and
// strip (ST_Intersection), valid, to a square centimetre; footprints whose
// pieces would not be one simple polygon each (a U cut through its arms, a
// courtyard) are left to PostGIS.
func TestClipStripsMatchPostGIS(t *testing.T) {
	s := pgtest.NewStore(t)
	e := DefaultEstimates()
	plane, err := geo.NewLocalPlane(116.4, 39.9)
	if err != nil {
		t.Fatal(err)
	}
	shape := func(angle float64, dx float64, corners ...[2]float64) orb.Polygon {
		a := angle * math.Pi / 180
		var r orb.Ring
		for _, c := range append(corners, corners[0]) {
			x, y := c[0]*math.Cos(a)-c[1]*math.Sin(a)+dx, c[0]*math.Sin(a)+c[1]*math.Cos(a)
			r = append(r, plane.LonLat(x, y))
		}
		return orb.Polygon{r}
	}
	type pt = [2]float64
	rng := rand.New(rand.NewPCG(7, 11))
	var clipped []orb.Polygon
	for i := range 200 {
		w, h := 30+rng.Float64()*40, 10+rng.Float64()*6
		var corners []pt
		switch i % 4 {
		case 0: // L
			f := 8 + rng.Float64()*8
			corners = []pt{{0, 0}, {w, 0}, {w, h}, {f, h}, {f, h + 9}, {0, h + 9}}
		case 1: // T
			corners = []pt{{0, 0}, {w, 0}, {w, h}, {w/2 + 5, h}, {w/2 + 5, h + 8}, {w/2 - 5, h + 8}, {w/2 - 5, h}, {0, h}}
		case 2: // a slab with a notch in its long side
			corners = []pt{{0, 0}, {w / 3, 0}, {w / 3, 3}, {2 * w / 3, 3}, {2 * w / 3, 0}, {w, 0}, {w, h}, {0, h}}
		case 3: // a trapezoid
			corners = []pt{{0, 0}, {w, 0}, {w - 6, h}, {4, h}}
		}
		g := shape(rng.Float64()*180, float64(i)*200, corners...)
		p, ok := planUnits(g, nil, nil, false, e)
		if !ok || p.fills {
			t.Fatalf("shape %d: planned %v, fills %v; want strips to clip", i, ok, p.fills)
		}
		if p.clips == nil {
			if i%4 != 2 { // a notch may put a vertex near a cut
				t.Errorf("shape %d (kind %d): not clipped in Go", i, i%4)
			}
			continue
		}
		if len(p.clips) != len(p.strips) {
			t.Fatalf("shape %d: %d clips for %d strips", i, len(p.clips), len(p.strips))
		}
		clipped = append(clipped, g)
		for n := range p.strips {
			foot, _ := wkb.Marshal(g)
			strip, _ := wkb.Marshal(p.strips[n])
			piece, _ := wkb.Marshal(p.clips[n])
			var valid bool
			var diff *float64
			var area float64
			err := s.Pool.QueryRow(ctxT(t), `SELECT ST_IsValid(c), CASE WHEN ST_IsValid(c) THEN ST_Area(ST_SymDifference(c, ST_Intersection(f, s))::geography) END,
				ST_Area(ST_Intersection(f, s)::geography)
				FROM (SELECT ST_GeomFromWKB($1, 4326) AS f, ST_GeomFromWKB($2, 4326) AS s, ST_GeomFromWKB($3, 4326) AS c) x`,
				foot, strip, piece).Scan(&valid, &diff, &area)
			if err != nil {
				t.Fatal(err)
			}
			if !valid || *diff > 0.001*area {
				t.Errorf("shape %d (kind %d) unit %d: valid %v, differs from ST_Intersection (%.1f m²) by %v m²: %v", i, i%4, n+1, valid, area, diff, p.clips[n])
			}
		}
	}
	if len(clipped) < 150 {
		t.Errorf("only %d of 200 footprints clipped in Go", len(clipped))
	}
	// A U lying along its long axis (cuts cross both arms), and a
	// courtyard: PostGIS's.
	u := shape(0, 0, pt{0, 0}, pt{60, 0}, pt{60, 10}, pt{20, 10}, pt{20, 20}, pt{60, 20}, pt{60, 30}, pt{0, 30})
	if p, _ := planUnits(u, nil, nil, false, e); p.clips != nil {
		t.Error("a U whose arms a cut crosses was clipped in Go")
	}
	yard := shape(0, 0, pt{0, 0}, pt{60, 0}, pt{60, 14}, pt{0, 14})
	yard = append(yard, shape(0, 0, pt{20, 4}, pt{20, 10}, pt{40, 10}, pt{40, 4})[0])
	if p, _ := planUnits(yard, nil, nil, false, e); p.clips != nil {
		t.Error("a footprint with a hole was clipped in Go")
	}
}
