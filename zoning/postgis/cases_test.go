package postgis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func origin() zoning.Origin  { return zoning.Origin{Actor: zoning.CLI(), RemoteAddr: "test"} }
func count(t *testing.T, s *postgis.Store, table string) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCaseResidenceResolution(t *testing.T) {
	sc := newScenario(t)
	cs := postgis.Cases{S: sc.s}
	ctx := context.Background()
	b := sc.at(2, 1) // centre (260, 200)
	mustExec(t, sc.s, `UPDATE buildings SET addr_compound = '城建花园小区', addr_number = '73' WHERE id = $1`, b)
	inLon, inLat := ll(262, 201)
	nearLon, nearLat := ll(260, 220) // 14 m north of the footprint
	farLon, farLat := ll(330, 250)   // in open ground, > 50 m from any building
	cases := []zoning.NewCase{
		{CaseNo: "U1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{UnitID: i64(sc.units[b][1])}},
		{CaseNo: "B1", CountyID: 1, Kind: "asymptomatic", ReportDate: "2022-11-20", Residence: zoning.Residence{BuildingID: i64(b)}},
		{CaseNo: "A1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{Address: "临河区城建花园小区73号楼二单元"}},
		{CaseNo: "P1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{Lon: f64(inLon), Lat: f64(inLat)}},
		{CaseNo: "P2", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{Lon: f64(nearLon), Lat: f64(nearLat)},
			Traces: []zoning.NewTrace{{BuildingID: i64(sc.at(0, 0)), StartsAt: time.Date(2022, 11, 18, 9, 0, 0, 0, time.UTC), EndsAt: time.Date(2022, 11, 18, 17, 0, 0, 0, time.UTC), Activity: "work"}}},
	}
	ids, err := cs.Create(ctx, origin(), cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		c, err := cs.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.ResidenceBuildingID == nil || *c.ResidenceBuildingID != b {
			t.Errorf("%s: building %v, want %d", cases[i].CaseNo, c.ResidenceBuildingID, b)
		}
		if c.H3Cell == "" || !strings.HasPrefix(c.H3Cell, "8b") {
			t.Errorf("%s: h3 cell %q, want a resolution-11 cell", cases[i].CaseNo, c.H3Cell)
		}
		switch cases[i].CaseNo {
		case "U1", "A1":
			if c.ResidenceUnitID == nil || *c.ResidenceUnitID != sc.units[b][1] {
				t.Errorf("%s: unit %v, want %d", cases[i].CaseNo, c.ResidenceUnitID, sc.units[b][1])
			}
		case "P1":
			if c.SnapDistanceM == nil || *c.SnapDistanceM != 0 {
				t.Errorf("P1 inside the building: snap %v, want 0", c.SnapDistanceM)
			}
		case "P2":
			if c.SnapDistanceM == nil || *c.SnapDistanceM < 12 || *c.SnapDistanceM > 16 {
				t.Errorf("P2: snap distance %v, want about 14 m", c.SnapDistanceM)
			}
		}
	}
	traces, err := cs.Traces(ctx, ids[4])
	if err != nil || len(traces) != 1 || traces[0].BuildingID == nil || *traces[0].BuildingID != sc.at(0, 0) || traces[0].H3Cell == "" {
		t.Fatalf("traces %+v %v", traces, err)
	}
	// Bad input: clear 4xx kinds, and nothing stored.
	before := count(t, sc.s, "cases")
	bad := map[string]struct {
		c    zoning.NewCase
		kind error
	}{
		"point far from buildings": {zoning.NewCase{CaseNo: "X1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{Lon: f64(farLon), Lat: f64(farLat)}}, zoning.ErrInvalid},
		"no residence":             {zoning.NewCase{CaseNo: "X2", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20"}, zoning.ErrInvalid},
		"unknown unit":             {zoning.NewCase{CaseNo: "X3", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{UnitID: i64(99999)}}, zoning.ErrInvalid},
		"unknown county":           {zoning.NewCase{CaseNo: "X4", CountyID: 7, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{BuildingID: i64(b)}}, zoning.ErrInvalid},
		"future report":            {zoning.NewCase{CaseNo: "X5", CountyID: 1, Kind: "confirmed", ReportDate: "2099-01-01", Residence: zoning.Residence{BuildingID: i64(b)}}, zoning.ErrInvalid},
		"lat out of range":         {zoning.NewCase{CaseNo: "X6", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{Lon: f64(117), Lat: f64(95)}}, zoning.ErrInvalid},
		"unknown address":          {zoning.NewCase{CaseNo: "X7", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{Address: "幸福小区9号楼"}}, zoning.ErrInvalid},
		"duplicate case_no":        {zoning.NewCase{CaseNo: "U1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{BuildingID: i64(b)}}, zoning.ErrConflict},
		"exclusion without reason": {zoning.NewCase{CaseNo: "X8", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{BuildingID: i64(b)}, Exclusion: &zoning.Exclusion{Category: "home_quarantine"}}, zoning.ErrInvalid},
	}
	for name, c := range bad {
		if _, err := cs.Create(ctx, origin(), []zoning.NewCase{c.c}); !errors.Is(err, c.kind) {
			t.Errorf("%s: %v, want %v", name, err, c.kind)
		}
	}
	// A batch with one bad row stores none of its rows.
	good := zoning.NewCase{CaseNo: "G1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20", Residence: zoning.Residence{BuildingID: i64(b)}}
	if _, err := cs.Create(ctx, origin(), []zoning.NewCase{good, bad["unknown unit"].c}); !errors.Is(err, zoning.ErrInvalid) || !strings.Contains(err.Error(), "case 2") {
		t.Errorf("batch with a bad second row: %v", err)
	}
	if n := count(t, sc.s, "cases"); n != before {
		t.Fatalf("bad input stored cases: %d -> %d", before, n)
	}
}

func TestCaseExclusionUpdateIsAudited(t *testing.T) {
	sc := newScenario(t)
	cs := postgis.Cases{S: sc.s}
	ctx := context.Background()
	ids, err := cs.Create(ctx, origin(), []zoning.NewCase{{CaseNo: "E1", CountyID: 1, Kind: "confirmed", ReportDate: "2022-11-20",
		Residence: zoning.Residence{BuildingID: i64(sc.at(0, 0))}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Update(ctx, origin(), ids[0], zoning.CaseUpdate{Exclusion: &zoning.Exclusion{Category: "bogus", Assessment: "x"}, Reason: "r"}); !errors.Is(err, zoning.ErrInvalid) {
		t.Fatalf("bad category: %v", err)
	}
	if _, err := cs.Update(ctx, origin(), 424242, zoning.CaseUpdate{SourceKnown: new(bool), Reason: "r"}); !errors.Is(err, zoning.ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}
	c, err := cs.Update(ctx, origin(), ids[0], zoning.CaseUpdate{Exclusion: &zoning.Exclusion{Category: "centralized_quarantine", Assessment: "found in the quarantine hotel"}, Reason: "流调研判"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Exclusion == nil || c.Exclusion.Category != "centralized_quarantine" || c.ExcludedAt == nil {
		t.Fatalf("exclusion not recorded: %+v", c)
	}
	var before, after, reason string
	err = sc.s.Pool.QueryRow(ctx, `SELECT before::text, after::text, reason FROM audit_log WHERE action = 'case.update' AND entity_id = $1::bigint::text`,
		ids[0]).Scan(&before, &after, &reason)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(before, "exclusion") || !strings.Contains(after, "centralized_quarantine") || reason != "流调研判" {
		t.Fatalf("audit before %s after %s reason %q", before, after, reason)
	}
	// The excluded case no longer counts.
	p := sc.propose("2022-11-21", zoning.ProposeParams{})
	if len(p.Drafts) != 0 || len(p.Ignored) != 1 {
		t.Fatalf("excluded case: %d drafts, ignored %+v", len(p.Drafts), p.Ignored)
	}
}

func TestParseCasesCSV(t *testing.T) {
	in := "case_no,kind,report_date,building_id,lon,lat,exclusion_category,exclusion_assessment\n" +
		"C1,confirmed,2022-11-20,12,,,,\n" +
		"C2,asymptomatic,2022-11-19,,117.001,36.65,home_quarantine,居家隔离中发现\n"
	cs, err := zoning.ParseCasesCSV(strings.NewReader(in), 1, 100)
	if err != nil || len(cs) != 2 || *cs[0].Residence.BuildingID != 12 || *cs[1].Residence.Lon != 117.001 || cs[1].Exclusion.Category != "home_quarantine" {
		t.Fatalf("%+v %v", cs, err)
	}
	for _, bad := range []string{"", "case_no,kind\n", "case_no,kind,report_date,colour\n", "case_no,kind,report_date,lon\nC1,confirmed,2022-11-20,east\n"} {
		if _, err := zoning.ParseCasesCSV(strings.NewReader(bad), 1, 100); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := zoning.ParseCasesCSV(strings.NewReader(in), 1, 1); !errors.Is(err, zoning.ErrTooLarge) {
		t.Errorf("row limit: %v", err)
	}
}
