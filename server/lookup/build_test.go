package lookup_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/lookup/lookuptest"
	"github.com/riskzone/riskzone/zoning"
)

func square(x, y, side float64) orb.Polygon {
	return orb.Polygon{{{x, y}, {x + side, y}, {x + side, y + side}, {x, y + side}, {x, y}}}
}

// countingSource counts the address book loads of a Static source.
type countingSource struct {
	lookuptest.Static
	books int
}

func (c *countingSource) LoadBuildings(ctx context.Context, each func(lookup.Building)) error {
	c.books++
	return c.Static.LoadBuildings(ctx, each)
}

// An index built from plain data answers points (zone, county, history)
// and addresses (zoned, and from the address book), with no database; a
// rebuild reuses the address book while the buildings layer stands still.
func TestBuildFromPlainData(t *testing.T) {
	now := time.Date(2022, 11, 21, 12, 0, 0, 0, zoning.ChinaTime())
	lifted := now.Add(-72 * time.Hour)
	src := &countingSource{Static: lookuptest.Static{
		Versions: map[string]int64{"zones": 7, "buildings": 3},
		Zones: []lookup.ZoneRecord{{ZoneID: 1, Version: 2, CountyID: 10, Name: "城建花园", Level: "high", Geometry: square(0, 0, 1),
			From: now.Add(-240 * time.Hour), Active: true,
			Addresses: []zoning.Address{{District: "临河区", Compound: "城建花园小区", Number: "73", BuildingID: 100}}}},
		Timeline: []lookup.ZoneRecord{
			{ZoneID: 1, Version: 2, CountyID: 10, Name: "城建花园", Level: "high", Geometry: square(0, 0, 1), From: now.Add(-240 * time.Hour), Active: true},
			{ZoneID: 2, Version: 1, CountyID: 10, Name: "东区", Level: "high", Geometry: orb.MultiPolygon{square(2, 0, 1)},
				From: now.Add(-240 * time.Hour), Until: lifted, Active: true},
		},
		Counties:  []lookup.CountyRecord{{ID: 10, Name: "临河区", NameEn: "Linhe", Geometry: square(-1, -1, 5)}},
		Buildings: []lookup.Building{{ID: 200, District: "临河区", Compound: "幸福小区", Number: "5", Lon: 2.5, Lat: 0.5}},
	}}
	ctx := context.Background()
	ix, err := lookup.Build(ctx, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if zones, timeline := ix.Len(); ix.Version() != 7 || zones != 1 || timeline != 2 {
		t.Fatalf("version %d, %d zones, %d timeline versions", ix.Version(), zones, timeline)
	}
	a := ix.Answer(lookup.Query{HasPoint: true, Point: [2]float64{0.5, 0.5}}, now)
	if !a.InZone || len(a.Zones) != 1 || a.Zones[0].ZoneID != 1 || a.Zones[0].URL != "/zones/1" ||
		a.County == nil || a.County.ID != 10 || !a.County.Zoned || a.IndexVersion != 7 {
		t.Fatalf("point in zone 1: %+v", a)
	}
	a = ix.Answer(lookup.Query{HasPoint: true, Point: [2]float64{2.5, 0.5}, Since: now.AddDate(0, 0, -7)}, now)
	if a.InZone || a.WasInZone == nil || !*a.WasInZone || len(a.Past) != 1 || a.Past[0].ZoneID != 2 || a.Past[0].Until == nil {
		t.Fatalf("point of the lifted zone 2, history of 7 days: %+v", a)
	}
	if a = ix.Answer(lookup.Query{HasPoint: true, Point: [2]float64{2.5, 0.5}, Since: lifted.Add(time.Hour)}, now); *a.WasInZone {
		t.Fatalf("history since after the lifting: %+v", a)
	}
	if a = ix.Answer(lookup.Query{HasPoint: true, Point: [2]float64{9, 9}}, now); a.InZone || a.County != nil {
		t.Fatalf("point outside every county: %+v", a)
	}
	a = ix.Answer(lookup.Query{Q: "临河区城建花园小区73号楼"}, now)
	if !a.InZone || len(a.Matches) != 1 || a.Matches[0].BuildingID != 100 || a.Matches[0].County == nil {
		t.Fatalf("zoned address: %+v", a)
	}
	a = ix.Answer(lookup.Query{Q: "幸福小区5号楼"}, now)
	if a.InZone || len(a.Matches) != 1 || a.Matches[0].BuildingID != 200 || a.Matches[0].Lon == nil || *a.Matches[0].Lon != 2.5 ||
		!strings.Contains(a.Matches[0].Address, "幸福小区") {
		t.Fatalf("address from the address book: %+v", a)
	}

	if _, err := lookup.Build(ctx, src, ix); err != nil || src.books != 1 {
		t.Fatalf("rebuild with the buildings layer unchanged: %v, %d address book loads, want 1", err, src.books)
	}
	src.Versions["buildings"] = 4
	if _, err := lookup.Build(ctx, src, ix); err != nil || src.books != 2 {
		t.Fatalf("rebuild after the buildings layer moved: %v, %d address book loads, want 2", err, src.books)
	}
}

// failingSource fails its timeline.
type failingSource struct{ lookuptest.Static }

var errTimeline = errors.New("timeline unavailable")

func (failingSource) LoadTimeline(context.Context) ([]lookup.ZoneRecord, error) {
	return nil, errTimeline
}

// A geometry that is no polygon, or a source that fails, fails the build
// with the record named.
func TestBuildRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	bad := lookuptest.Static{Zones: []lookup.ZoneRecord{{ZoneID: 5, Geometry: orb.Point{1, 1}}}}
	if _, err := lookup.Build(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "zone 5") {
		t.Fatalf("a point zone: %v", err)
	}
	bad = lookuptest.Static{Counties: []lookup.CountyRecord{{ID: 9, Geometry: orb.LineString{{0, 0}, {1, 1}}}}}
	if _, err := lookup.Build(ctx, bad, nil); err == nil || !strings.Contains(err.Error(), "county 9") {
		t.Fatalf("a line county: %v", err)
	}
	if _, err := lookup.Build(ctx, failingSource{}, nil); !errors.Is(err, errTimeline) {
		t.Fatalf("a failing source: %v", err)
	}
}

// ParseQuery refuses bad input with zoning.ErrInvalid, and reads a point,
// an "ll" pair and the history.
func TestParseQuery(t *testing.T) {
	now := time.Date(2022, 11, 21, 12, 0, 0, 0, time.UTC)
	parse := func(kv ...string) (lookup.Query, error) {
		return lookup.ParseQuery(func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}, now)
	}
	for _, bad := range [][]string{{}, {"lon", "abc", "lat", "1"}, {"lon", "200", "lat", "0"}, {"ll", "116"},
		{"q", strings.Repeat("x", 201)}, {"lon", "1", "lat", "1", "days", "0"}, {"lon", "1", "lat", "1", "days", "61"},
		{"q", "a", "since", "yesterday"}, {"q", "a", "since", "2022-12-01T00:00:00Z"}, {"q", "a", "since", "2022-09-01T00:00:00Z"}} {
		if _, err := parse(bad...); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
	q, err := parse("ll", "116.5，36.25", "days", "14")
	if err != nil || !q.HasPoint || q.Point != [2]float64{116.5, 36.25} || q.Days != 14 || !q.Since.Equal(now.AddDate(0, 0, -14)) {
		t.Fatalf("ll and days: %+v %v", q, err)
	}
	q, err = parse("q", " 城建花园小区73号楼 ", "since", "2022-11-20T00:00:00+08:00")
	if err != nil || q.HasPoint || q.Q != "城建花园小区73号楼" || q.Since.IsZero() {
		t.Fatalf("q and since: %+v %v", q, err)
	}
}
