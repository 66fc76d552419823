package importer

import (
	"math"
	"reflect"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	posm "github.com/paulmach/osm"

	"github.com/riskzone/riskzone/geo"
	osmread "github.com/riskzone/riskzone/geo/osm"
)

func tags(kv ...string) posm.Tags {
	var t posm.Tags
	for i := 0; i+1 < len(kv); i += 2 {
		t = append(t, posm.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return t
}

var square = orb.Polygon{{{0, 0}, {0.001, 0}, {0.001, 0.001}, {0, 0.001}, {0, 0}}}

func TestOSMRulesRows(t *testing.T) {
	r := newOSMRules(DefaultAdminLevels(), 0)
	line := orb.LineString{{0, 0}, {0.001, 0.001}}
	type want struct {
		layer, kind, class string
	}
	tests := []struct {
		name string
		typ  posm.Type
		tags posm.Tags
		geom orb.Geometry
		want []want
	}{
		{"residential road", posm.TypeWay, tags("highway", "living_street"), line, []want{{"barriers", "road", "residential"}}},
		{"motorway link", posm.TypeWay, tags("highway", "motorway_link"), line, []want{{"barriers", "road", "motorway"}}},
		{"footway is minor", posm.TypeWay, tags("highway", "footway"), line, []want{{"barriers", "road", "minor"}}},
		{"road tunnel", posm.TypeWay, tags("highway", "primary", "tunnel", "yes"), line, nil},
		{"proposed road", posm.TypeWay, tags("highway", "proposed"), line, nil},
		{"railway", posm.TypeWay, tags("railway", "rail"), line, []want{{"barriers", "railway", ""}}},
		{"railway below ground", posm.TypeWay, tags("railway", "subway", "layer", "-1"), line, nil},
		{"underground railway", posm.TypeWay, tags("railway", "light_rail", "location", "underground"), line, nil},
		{"railway platform", posm.TypeWay, tags("railway", "platform"), line, nil},
		{"stream", posm.TypeWay, tags("waterway", "stream"), line, []want{{"barriers", "stream", ""}}},
		{"culvert", posm.TypeWay, tags("waterway", "drain", "tunnel", "culvert"), line, nil},
		{"ditch", posm.TypeWay, tags("waterway", "ditch"), line, nil},
		{"ridge", posm.TypeWay, tags("natural", "ridge"), line, []want{{"barriers", "ridge", ""}}},
		{"closed fence", posm.TypeWay, tags("barrier", "fence"), square, []want{{"barriers", "fence", ""}}},
		{"hedge", posm.TypeWay, tags("barrier", "hedge"), line, nil},
		{"lake", posm.TypeWay, tags("natural", "water"), square, []want{{"barriers", "water", ""}}},
		{"reservoir relation", posm.TypeRelation, tags("type", "multipolygon", "landuse", "reservoir"), orb.MultiPolygon{square}, []want{{"barriers", "water", ""}}},
		{"house", posm.TypeWay, tags("building", "house"), square, []want{{"buildings", "residential", ""}}},
		{"building=yes", posm.TypeWay, tags("building", "yes"), square, []want{{"buildings", "residential", ""}}},
		{"garage", posm.TypeWay, tags("building", "garage"), square, []want{{"buildings", "other", ""}}},
		{"school", posm.TypeWay, tags("building", "school"), square, []want{{"buildings", "public", ""}}},
		{"building=no", posm.TypeWay, tags("building", "no"), square, nil},
		{"shop in a building", posm.TypeWay, tags("building", "retail", "shop", "supermarket"), square,
			[]want{{"buildings", "commercial", ""}, {"places", "supermarket", ""}}},
		{"restaurant node", posm.TypeNode, tags("amenity", "restaurant"), orb.Point{0, 0}, []want{{"places", "restaurant", ""}}},
		{"bench", posm.TypeNode, tags("amenity", "bench"), orb.Point{0, 0}, nil},
		{"office=yes", posm.TypeNode, tags("office", "yes"), orb.Point{0, 0}, []want{{"places", "office", ""}}},
		{"county", posm.TypeRelation, tags("type", "boundary", "boundary", "administrative", "admin_level", "6"), orb.MultiPolygon{square}, []want{{"admin", "county", ""}}},
		{"unmapped level", posm.TypeRelation, tags("type", "boundary", "boundary", "administrative", "admin_level", "7"), orb.MultiPolygon{square}, nil},
		{"named estate", posm.TypeWay, tags("landuse", "residential", "name", "城建花园"), square, []want{{"compounds", "", ""}}},
		{"unnamed residential land", posm.TypeWay, tags("landuse", "residential"), square, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &osmread.Feature{Type: tt.typ, ID: 7, Tags: tt.tags, Geometry: tt.geom}
			var got []want
			for _, row := range r.rows(f) {
				got = append(got, want{row.layer, row.kind, row.roadClass})
				if row.sourceID != f.SourceID() {
					t.Errorf("source id %q", row.sourceID)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
			// What rows uses, classify asks the reader for.
			if len(tt.want) > 0 {
				if s := r.classify(tt.typ, 7, tt.tags); s == 0 {
					t.Errorf("classify says skip")
				}
			}
		})
	}
}

func TestEnclosureGuess(t *testing.T) {
	tests := []struct {
		tags          posm.Tags
		polygon       bool
		enclosed, poo bool
	}{
		{tags("amenity", "restaurant"), false, true, false},
		{tags("amenity", "nightclub"), false, true, true},
		{tags("leisure", "fitness_centre"), false, true, true},
		{tags("amenity", "cinema"), false, true, true},
		{tags("shop", "convenience"), false, true, false},
		{tags("leisure", "park"), true, false, false},
		{tags("amenity", "marketplace"), false, false, false},
		{tags("amenity", "marketplace", "covered", "yes"), false, true, false},
		{tags("amenity", "marketplace", "building", "yes"), true, true, false},
		{tags("amenity", "bar", "indoor", "no"), false, false, false},
		{tags("leisure", "swimming_pool", "indoor", "yes"), false, true, false},
	}
	for _, tt := range tests {
		p, ok := placeKind(tt.tags, tt.polygon)
		if !ok {
			t.Errorf("%v is not a place", tt.tags)
			continue
		}
		e, pv := enclosure(tt.tags, p, tt.polygon)
		if e != tt.enclosed || pv != tt.poo {
			t.Errorf("%v: enclosed %v poorly ventilated %v, want %v %v", tt.tags, e, pv, tt.enclosed, tt.poo)
		}
	}
}

func TestBuildingTags(t *testing.T) {
	row := buildingRow("w1", tags("building", "apartments", "building:levels", "18", "building:flats", "72",
		"addr:street", "长安街", "addr:housenumber", "73", "addr:place", "城建花园", "addr:district", "东城区", "name", "73号楼"), square)
	if row.floors == nil || *row.floors != 18 || row.flats == nil || *row.flats != 72 || row.singleUnit ||
		row.addrStreet != "长安街" || row.addrNumber != "73" || row.addrCompound != "城建花园" || row.addrDistrict != "东城区" || row.name != "73号楼" {
		t.Errorf("row %+v", row)
	}
	for _, bad := range []string{"3;4", "0", "many", "2.5", "250"} {
		if wholeNumber(bad, 1, 200) != nil {
			t.Errorf("levels %q read as a number", bad)
		}
	}
	if !buildingRow("w2", tags("building", "house"), square).singleUnit {
		t.Error("a house is one unit")
	}
}

func TestParseAdminLevels(t *testing.T) {
	m, err := ParseAdminLevels(" 2=province, 8=county ")
	if err != nil || !reflect.DeepEqual(m, map[int]string{2: "province", 8: "county"}) {
		t.Fatalf("%v %v", m, err)
	}
	if FormatAdminLevels(m) != "2=province,8=county" {
		t.Errorf("format %q", FormatAdminLevels(m))
	}
	for _, bad := range []string{"", "2", "x=county", "2=country", "13=county"} {
		if _, err := ParseAdminLevels(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestOptionsChecks(t *testing.T) {
	bad := []Options{
		{Kind: "shapefile"},
		{Kind: KindGeoJSON, Layer: "roads"},
		{Kind: KindGeoJSON, Layer: "buildings", Source: "manual"},
		{Kind: KindGeoJSON, Layer: "buildings", Source: "has space"},
		{Kind: KindGeoJSON, Layer: "buildings", CountyRelation: 3},
		{Kind: KindOSM, Layer: "buildings"},
		{Kind: KindOSM, BBox: &orb.Bound{Min: orb.Point{10, 10}, Max: orb.Point{9, 11}}},
		{Kind: KindOSM, BBox: &orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 91}}},
		{Kind: KindOSM, Estimates: Estimates{PersonsPerM2: 0.02, DefaultFloors: 0, UnitWidthM: 15, FlatsPerFloor: 2, MaxUnits: 12}},
	}
	for _, o := range bad {
		if _, err := o.withDefaults(); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	o, err := Options{Kind: KindGeoJSON, Layer: "buildings", FileName: "/tmp/北京 buildings (v2).geojson"}.withDefaults()
	if err != nil || o.Source != "buildings-v2" || o.Estimates != DefaultEstimates() {
		t.Errorf("defaults %+v %v", o, err)
	}
	if _, err := newGeoJSONRules("buildings", map[string]string{"pop": "population"}); err == nil {
		t.Error("--map of an unknown field accepted")
	}
	if b, err := ParseBBox("9.4, 47.0,9.7,47.3"); err != nil || b.Min != (orb.Point{9.4, 47.0}) || b.Max != (orb.Point{9.7, 47.3}) {
		t.Errorf("bbox %v %v", b, err)
	}
}

func TestInteriorPoint(t *testing.T) {
	// A U shape: its centroid lies in the gap.
	u := orb.Polygon{{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}
	for _, g := range []orb.Geometry{u, square, orb.MultiPolygon{square, u}} {
		p, ok := interiorPoint(g)
		if !ok {
			t.Fatalf("no point for %v", g)
		}
		var inside bool
		switch g := g.(type) {
		case orb.Polygon:
			inside = planar.PolygonContains(g, p)
		case orb.MultiPolygon:
			inside = planar.MultiPolygonContains(g, p)
		}
		if !inside {
			t.Errorf("interior point %v of %v is outside", p, g)
		}
	}
	if _, ok := interiorPoint(orb.LineString{{0, 0}, {1, 1}}); ok {
		t.Error("a line has no interior point")
	}
}

func TestPlanUnits(t *testing.T) {
	e := DefaultEstimates()
	plane, err := geo.NewLocalPlane(116.4, 39.9)
	if err != nil {
		t.Fatal(err)
	}
	// shape maps metre corners, rotated by angle degrees, to a lon/lat polygon.
	shape := func(angle float64, corners ...[2]float64) orb.Polygon {
		a := angle * math.Pi / 180
		var r orb.Ring
		for _, c := range append(corners, corners[0]) {
			x, y := c[0]*math.Cos(a)-c[1]*math.Sin(a), c[0]*math.Sin(a)+c[1]*math.Cos(a)
			r = append(r, plane.LonLat(x, y))
		}
		return orb.Polygon{r}
	}
	slab := shape(30, [2]float64{0, 0}, [2]float64{45, 0}, [2]float64{45, 12}, [2]float64{0, 12})
	p, ok := planUnits(slab, nil, nil, false, e)
	if !ok || len(p.strips) != 3 || !p.fills || math.Abs(p.length-45) > 0.05 {
		t.Fatalf("rotated 45 × 12 m slab: %d strips, fills %v, length %.2f", len(p.strips), p.fills, p.length)
	}
	var stripArea float64
	for _, s := range p.strips {
		stripArea += orbgeo.Area(s)
	}
	if a := orbgeo.Area(slab); math.Abs(stripArea-a) > 0.01*a {
		t.Errorf("strips cover %.1f m² of %.1f", stripArea, a)
	}
	l := shape(0, [2]float64{0, 0}, [2]float64{40, 0}, [2]float64{40, 12}, [2]float64{12, 12}, [2]float64{12, 22}, [2]float64{0, 22})
	if p, ok := planUnits(l, nil, nil, false, e); !ok || p.fills || len(p.strips) != 3 {
		t.Errorf("L: %d strips, fills %v; want 3 to be clipped", len(p.strips), p.fills)
	}
	floors, flats := int32(18), int32(72)
	if p, _ := planUnits(slab, &floors, &flats, false, e); len(p.strips) != 2 {
		t.Errorf("72 flats on 18 floors: %d units, want 2", len(p.strips))
	}
	if p, _ := planUnits(slab, nil, nil, true, e); len(p.strips) != 1 {
		t.Errorf("single-unit building: %d units", len(p.strips))
	}
	long := shape(0, [2]float64{0, 0}, [2]float64{500, 0}, [2]float64{500, 12}, [2]float64{0, 12})
	if p, _ := planUnits(long, nil, nil, false, e); len(p.strips) != e.MaxUnits {
		t.Errorf("500 m slab: %d units, want the maximum %d", len(p.strips), e.MaxUnits)
	}
	if _, ok := planUnits(orb.LineString{{0, 0}, {1, 1}}, nil, nil, false, e); ok {
		t.Error("a line was planned")
	}
}
