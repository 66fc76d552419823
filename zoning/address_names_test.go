package zoning

import (
	"strconv"
	"testing"
)

// Addresses of imported data: a house number on a street is "号" / "no.",
// beside the building's name when it has one; a named building is its
// name; only a building with neither is an unnamed building with its
// source id; Latin names are spaced, Chinese ones are not; a compound's
// buildings stay "号楼" / "building".
func TestFormatAddressesOfImportedBuildings(t *testing.T) {
	street := func(id int64, number, name string) Address {
		return Address{District: "Schaan", Street: "Im Pardiel", Number: number, Name: name, BuildingID: id, Ref: SourceRef("osm", "w"+strconv.FormatInt(id, 10))}
	}
	addrs := []Address{
		{District: "Schaan", Name: "St. Peter", BuildingID: 2052, Ref: "OSM way 2052"},
		{District: "Schaan", BuildingID: 2128, Ref: "OSM way 2128"},
		street(3459, "", ""), street(3461, "17", ""), street(3496, "15", ""), street(2137, "16", ""), street(3482, "61a", ""),
		street(1613, "19", "Rathaus"),
		{District: "Eschen", Compound: "Nendeln", BuildingID: 6870, Ref: "OSM way 6870"},
		{District: "临河区", Street: "建设路", Number: "12", BuildingID: 7},
		{District: "临河区", Street: "建设街道", Compound: "城建花园小区", Number: "3", Name: "城建花园小区3号楼", BuildingID: 8},
		{District: "临河区", Street: "建设街道", Compound: "城建花园小区", BuildingID: 9},
	}
	zh := FormatAddressesZh(addrs)
	want := "Eschen Nendeln无名楼栋（OSM way 6870）；Schaan St. Peter、无名楼栋（OSM way 2128）；" +
		"Schaan Im Pardiel 15-17号、19号（Rathaus）、61a号、无名楼栋（OSM way 3459）；" +
		"临河区建设街道城建花园小区3号楼、无名楼栋（编号9）；临河区建设路12号"
	if zh != want {
		t.Errorf("zh\n got %s\nwant %s", zh, want)
	}
	en := FormatAddressesEn(addrs)
	wantEn := "Eschen: Nendeln unnamed building (OSM way 6870) / Schaan: St. Peter, unnamed building (OSM way 2128) / " +
		"Im Pardiel, Schaan: nos. 15-17, no. 19 (Rathaus), no. 61a, unnamed building (OSM way 3459) / " +
		"建设街道, 临河区: 城建花园小区 building 3, unnamed building (no. 9) / 建设路, 临河区: no. 12"
	if en != wantEn {
		t.Errorf("en\n got %s\nwant %s", en, wantEn)
	}
	if d := ShortAreaDesc(ZoneText{Addresses: addrs[2:6]}, "zh"); d != "Im Pardiel 15-17号等" {
		t.Errorf("short desc %q", d)
	}
}

func TestSourceRef(t *testing.T) {
	for _, c := range []struct{ source, id, want string }{
		{"osm", "w123", "OSM way 123"},
		{"osm-li", "r7", "OSM relation 7"},
		{"osm", "n5", "OSM node 5"},
		{"survey-2022", "B-17", "survey-2022 B-17"},
		{"cadastre", "w12", "cadastre w12"},
		{"osm", "", ""},
	} {
		if got := SourceRef(c.source, c.id); got != c.want {
			t.Errorf("SourceRef(%q, %q) = %q, want %q", c.source, c.id, got, c.want)
		}
	}
}
