package zoning_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
)

func TestParseContactsCSV(t *testing.T) {
	bj := zoning.ChinaTime()
	in := "\ufeffcontact_no,kind,case_no,via_contact_no,identified_at,last_exposure_date,building_id,lon,lat\n" +
		"M1,close,C1,,2022-11-21 23:30,2022-11-21,42,,\n" +
		"S1,secondary,,M1,2022-11-22T01:00:00+08:00,,,9.52,47.14\n"
	got, err := zoning.ParseContactsCSV(strings.NewReader(in), 3, bj, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].CountyID != 3 || got[0].CaseNo != "C1" || *got[0].Residence.BuildingID != 42 ||
		!got[0].IdentifiedAt.Equal(time.Date(2022, 11, 21, 15, 30, 0, 0, time.UTC)) ||
		got[1].ViaContactNo != "M1" || *got[1].Residence.Lon != 9.52 {
		t.Fatalf("parsed %+v", got)
	}
	for name, bad := range map[string]string{
		"empty":       "",
		"no rows":     "contact_no,kind,identified_at\n",
		"unknown col": "contact_no,kind,identified_at,phone\nM1,close,2022-11-21 10:00,123\n",
		"missing col": "contact_no,kind\nM1,close\n",
		"bad time":    "contact_no,kind,identified_at\nM1,close,yesterday\n",
		"bad id":      "contact_no,kind,identified_at,building_id\nM1,close,2022-11-21 10:00,x\n",
	} {
		if _, err := zoning.ParseContactsCSV(strings.NewReader(bad), 3, bj, 10); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	many := "contact_no,kind,identified_at\n" + strings.Repeat("M1,close,2022-11-21 10:00\n", 3)
	if _, err := zoning.ParseContactsCSV(strings.NewReader(many), 3, bj, 2); !errors.Is(err, zoning.ErrTooLarge) {
		t.Errorf("too many rows: %v", err)
	}
}

func FuzzParseContactsCSV(f *testing.F) {
	f.Add("contact_no,kind,case_no,identified_at,building_id\nM1,close,C1,2022-11-21 23:30,42\n")
	f.Add("contact_no,kind,via_contact_no,identified_at,lon,lat\nS1,secondary,M1,2022-11-22T01:00:00+08:00,9.5,47.1\n")
	f.Add("contact_no,kind,identified_at\n\"M1,close,x\n")
	f.Add("")
	bj := zoning.ChinaTime()
	now := time.Date(2022, 11, 22, 7, 0, 0, 0, bj)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := zoning.ParseContactsCSV(strings.NewReader(in), 3, bj, 50)
		if err != nil {
			if !errors.Is(err, zoning.ErrInvalid) && !errors.Is(err, zoning.ErrTooLarge) {
				t.Fatalf("%q: %v is neither invalid nor too large", in, err)
			}
			return
		}
		if len(got) == 0 || len(got) > 50 {
			t.Fatalf("%q: %d contacts", in, len(got))
		}
		for _, c := range got {
			// Validation never panics and answers a kind.
			if err := c.Validate(now, zoning.DateOf(now, bj)); err != nil && !errors.Is(err, zoning.ErrInvalid) {
				t.Fatalf("%+v: %v", c, err)
			}
		}
	})
}
