package importer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/importer/realdata"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The buildings of the zones designated on the real extract, by OSM id, and
// the tags they carry there (osmium cat -f opl):
//
//	Schaan: w3461, w3496, w3498, w2137 addr:street=Im Pardiel with
//	addr:housenumber 17, 15, 7, 16; w3459 addr:street=Im Pardiel without a
//	number; w1613 name=Rathaus, Landstrasse 19; w2052 name=St. Peter, no
//	address; w2128 no name, no address.
//	Eschen: w6870, w6871 untagged buildings inside the named
//	landuse=residential polygon w241 "Nendeln".
var realZones = map[string][]string{
	"Schaan": {"w3461", "w3496", "w3498", "w2137", "w3459", "w1613", "w2052", "w2128"},
	"Eschen": {"w6870", "w6871"},
}

// Notices on a real import list what OSM names: the compound of a named
// residential polygon, street and house number, the building's name; only
// a building with none of these gets a label, and that label says it is
// unnamed and gives its OSM id. The address CSV carries the same parts.
func TestNoticeAddressesOnRealImport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := pgtest.NewStore(t)
	realdata.Import(t, ctx, s)
	// addr:housename names a building without name= (w1411: addr:housename
	// Minigolf Club, Schaanerstrasse 59).
	var housename string
	if err := s.Pool.QueryRow(ctx, `SELECT name FROM buildings WHERE source_id = 'w1411'`).Scan(&housename); err != nil || housename != "Minigolf Club" {
		t.Errorf("w1411: name %q (%v), want its addr:housename Minigolf Club", housename, err)
	}
	pub := realdata.Publish(t, ctx, s, realZones)

	schaan, eschen := pub.Notices["Schaan"], pub.Notices["Eschen"]
	for _, c := range []struct {
		what, text string
		want       []string
	}{
		{"Schaan zh", schaan.BodyZh, []string{"Im Pardiel 7号、15-17号、无名楼栋（OSM way 3459）", "Landstrasse 19号（Rathaus）",
			"St. Peter", "无名楼栋（OSM way 2128）"}},
		{"Schaan en", schaan.BodyEn, []string{"Im Pardiel, Schaan: no. 7, nos. 15-17, unnamed building (OSM way 3459)",
			"Landstrasse, Schaan: no. 19 (Rathaus)", "St. Peter", "unnamed building (OSM way 2128)"}},
		{"Eschen zh", eschen.BodyZh, []string{"Nendeln无名楼栋（OSM way 6870）、无名楼栋（OSM way 6871）"}},
		{"Eschen en", eschen.BodyEn, []string{"Nendeln unnamed building (OSM way 6870), unnamed building (OSM way 6871)"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.text, w) {
				t.Errorf("%s notice lacks %q:\n%s", c.what, w, c.text)
			}
		}
		for _, bad := range []string{"楼栋编号", "building #", "号楼"} {
			if strings.Contains(c.text, bad) {
				t.Errorf("%s notice has %q:\n%s", c.what, bad, c.text)
			}
		}
	}

	// The address CSV rows of the same buildings.
	rows := map[int64]postgis.AddressRow{}
	if err := (postgis.Export{S: s}).Addresses(ctx, 0, "", func(a postgis.AddressRow) error {
		if a.UnitID == nil {
			rows[a.BuildingID] = a
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for sid, want := range map[string][4]string{ // street, number, compound, name
		"w3461": {"Im Pardiel", "17", "", ""},
		"w1613": {"Landstrasse", "19", "", "Rathaus"},
		"w2052": {"", "", "", "St. Peter"},
		"w6870": {"", "", "Nendeln", ""},
	} {
		a, ok := rows[pub.Buildings[sid]]
		if !ok {
			t.Errorf("no CSV row for %s", sid)
			continue
		}
		if got := [4]string{a.Street, a.Number, a.Compound, a.Name}; got != want {
			t.Errorf("CSV row of %s: street, number, compound, name %q, want %q", sid, got, want)
		}
	}
	if a := rows[pub.Buildings["w2128"]]; a.SourceRef != "OSM way 2128" {
		t.Errorf("CSV row of w2128: source ref %q, want OSM way 2128", a.SourceRef)
	}
}
