package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/zoning/importer/realdata"
)

// On a real import the public lookup finds buildings by what OSM calls
// them: street and house number (Im Pardiel 17, typed in any case and
// spacing), a building's name (St. Peter), a house number with a letter
// outside every zone (Im Pardiel 61a, from the address book); the address
// CSV has the real street, number, compound and name.
func TestLookupByStreetAndNameOnRealImport(t *testing.T) {
	e := newTestEnv(t, Config{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	realdata.Import(t, ctx, e.store)
	pub := realdata.Publish(t, ctx, e.store, map[string][]string{
		"Schaan": {"w3461", "w3496", "w2052", "w2128"}, // Im Pardiel 17, 15; St. Peter; unnamed
		"Eschen": {"w6870"},                            // inside landuse=residential "Nendeln"
	})
	get := func(path string) response {
		t.Helper()
		return e.do(request{method: "GET", path: path}).expect(t, http.StatusOK, "GET "+path)
	}
	for _, c := range []struct {
		q, address, sid string
		inZone          bool
	}{
		{"Im Pardiel 17", "Schaan Im Pardiel 17号", "w3461", true},
		{"im pardiel 15号", "Schaan Im Pardiel 15号", "w3496", true},
		{"Schaan St. Peter", "Schaan St. Peter", "w2052", true},
		{"Im Pardiel 61a", "Schaan Im Pardiel 61a号", "w3482", false},
		{"Rathaus", "Schaan Landstrasse 19号（Rathaus）", "w1613", false},
	} {
		var a lookup.Answer
		get("/api/v1/public/lookup?q="+url.QueryEscape(c.q)).decode(t, &a)
		if len(a.Matches) != 1 {
			t.Errorf("q=%q: %d matches, want 1: %+v", c.q, len(a.Matches), a.Matches)
			continue
		}
		m := a.Matches[0]
		var want int64
		if err := e.store.Pool.QueryRow(ctx, `SELECT id FROM buildings WHERE source_id = $1`, c.sid).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if m.Address != c.address || m.BuildingID != want || m.InZone != c.inZone || a.InZone != c.inZone || m.Lon == nil {
			t.Errorf("q=%q: match %q building %d in zone %v (point %v), want %q building %d (%s) in zone %v",
				c.q, m.Address, m.BuildingID, m.InZone, m.Lon != nil, c.address, want, c.sid, c.inZone)
		}
		if c.inZone && (len(m.Zones) != 1 || m.Zones[0].ZoneID != pub.Zones["Schaan"].ID) {
			t.Errorf("q=%q: zones %+v, want zone %d", c.q, m.Zones, pub.Zones["Schaan"].ID)
		}
	}
	// A name too short to be contained, and a number the street does not have.
	for _, q := range []string{"Peter", "Im Pardiel 999"} {
		var a lookup.Answer
		get("/api/v1/public/lookup?q="+url.QueryEscape(q)).decode(t, &a)
		if len(a.Matches) != 0 || a.InZone {
			t.Errorf("q=%q: %+v, want no match", q, a.Matches)
		}
	}

	// The public zone page says the population is an estimate.
	zn := pub.Zones["Schaan"]
	page := string(get(fmt.Sprintf("/zones/%d", zn.ID)).body)
	if want := fmt.Sprintf("约%d<", zn.Current.Population); !strings.Contains(page, want) {
		t.Errorf("public zone page lacks %q", want)
	}

	// The zones export lists the same addresses (without the county).
	var fc struct {
		Features []struct {
			Properties struct {
				ZoneID    int64    `json:"zone_id"`
				Addresses []string `json:"addresses"`
			} `json:"properties"`
		} `json:"features"`
	}
	get("/api/v1/export/zones.geojson").decode(t, &fc)
	addrs := map[int64][]string{}
	for _, f := range fc.Features {
		addrs[f.Properties.ZoneID] = f.Properties.Addresses
	}
	for county, want := range map[string][]string{
		"Schaan": {"Im Pardiel 17号", "Im Pardiel 15号", "St. Peter", "无名楼栋（OSM way 2128）"},
		"Eschen": {"Nendeln无名楼栋（OSM way 6870）"},
	} {
		got := addrs[pub.Zones[county].ID]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("zones.geojson addresses of the %s zone: %q, want %q", county, got, want)
		}
	}

	recs, err := csv.NewReader(bytes.NewReader(get("/api/v1/export/addresses.csv").body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int {
		i := slices.Index(recs[0], name)
		if i < 0 {
			t.Fatalf("addresses.csv lacks column %s: %v", name, recs[0])
		}
		return i
	}
	ib, ist, inum, icp, iname, iref := col("building_id"), col("street"), col("building_number"), col("compound"), col("building_name"), col("source_ref")
	got := map[string][5]string{}
	for _, r := range recs[1:] {
		got[r[ib]] = [5]string{r[ist], r[inum], r[icp], r[iname], r[iref]}
	}
	for sid, want := range map[string][5]string{
		"w3461": {"Im Pardiel", "17", "", "", "OSM way 3461"},
		"w2052": {"", "", "", "St. Peter", "OSM way 2052"},
		"w6870": {"", "", "Nendeln", "", "OSM way 6870"},
	} {
		id := strconv.FormatInt(pub.Buildings[sid], 10)
		if got[id] != want {
			t.Errorf("addresses.csv row of %s (building %s): %q, want %q", sid, id, got[id], want)
		}
	}
}
