package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"testing"
)

func TestCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"城建花园小区":                   "城建花园小区",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1":                       "'+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tTab":                    "'\tTab",
		"\rCR":                     "'\rCR",
		"73":                       "73",
		"a=b":                      "a=b",
	} {
		if got := csvText(in); got != want {
			t.Errorf("csvText(%q) = %q, want %q", in, got, want)
		}
	}
}

// The address CSV neutralises text cells a spreadsheet would run as a
// formula (an address part imported from OSM can hold anything), and keeps
// negative coordinates as numbers.
func TestAddressCSVNeutralisesFormulas(t *testing.T) {
	e := newPublicEnv(t)
	ctx := context.Background()
	var building int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT b.id FROM public_zone_versions v, unnest(v.building_ids) AS m(id)
		JOIN buildings b ON b.id = m.id WHERE v.status = 'active' ORDER BY b.id LIMIT 1`).Scan(&building); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool.Exec(ctx, `UPDATE buildings SET addr_street = '=HYPERLINK("http://evil.invalid","x")', addr_compound = '@cmd' WHERE id = $1`, building); err != nil {
		t.Fatal(err)
	}
	res := e.get("/api/v1/export/addresses.csv", http.StatusOK)
	recs, err := csv.NewReader(bytes.NewReader(res.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	ib, is, ic := slices.Index(recs[0], "building_id"), slices.Index(recs[0], "street"), slices.Index(recs[0], "compound")
	found := false
	for _, r := range recs[1:] {
		for i, cell := range r {
			if cell != "" && slices.Contains([]byte("=+@\t\r"), cell[0]) {
				t.Errorf("row %v: cell %d %q starts a formula", r, i, cell)
			}
		}
		if r[ib] == strconv.FormatInt(building, 10) {
			found = true
			if r[is] != `'=HYPERLINK("http://evil.invalid","x")` || r[ic] != "'@cmd" {
				t.Errorf("building %d: street %q compound %q, want them neutralised", building, r[is], r[ic])
			}
		}
	}
	if !found {
		t.Fatalf("building %d is not in the address CSV", building)
	}
}
