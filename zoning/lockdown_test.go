package zoning_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

func TestCompoundLockdownAssess(t *testing.T) {
	l := zoning.CompoundLockdown{Residents: 300, StaffRequired: 30}
	l.Assess()
	if len(l.Problems) != 2 || !strings.Contains(l.Problems[0], "no entrance") || strings.Join(l.ProblemCodes, ",") != "no_entrance,understaffed" {
		t.Fatalf("no entrances: %v", l.Problems)
	}
	l.Entrances = []zoning.Entrance{{ID: 1, State: "closed", Staff: 0}, {ID: 2, State: "open", Staff: 0}, {ID: 3, State: "open", Staff: 30}}
	l.Assess()
	if l.Open != 2 || l.Closed != 1 || l.EntranceStaff != 30 || len(l.Unmanned) != 1 || l.Unmanned[0] != 2 || len(l.Problems) != 1 {
		t.Fatalf("one unmanned: %+v", l)
	}
	l.Entrances = []zoning.Entrance{{ID: 1, State: "closed"}, {ID: 2, State: "closed"}}
	l.Assess()
	if len(l.Problems) != 2 || !strings.Contains(l.Problems[0], "every entrance is closed") {
		t.Fatalf("all closed: %v", l.Problems)
	}
}

func TestEntranceValidation(t *testing.T) {
	good := zoning.NewEntrance{Lon: 117, Lat: 36}
	if err := good.Validate(); err != nil || good.Kind != "entrance" || good.State != "open" {
		t.Fatalf("defaults: %+v %v", good, err)
	}
	for name, e := range map[string]zoning.NewEntrance{
		"kind":  {Kind: "door", Lon: 117, Lat: 36},
		"state": {State: "ajar", Lon: 117, Lat: 36},
		"staff": {Staff: -1, Lon: 117, Lat: 36},
		"where": {Lon: 200, Lat: 36},
		"name":  {Name: "a\nb", Lon: 117, Lat: 36},
	} {
		if err := e.Validate(); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	closed, two := "closed", 2
	e, err := (zoning.EntranceEdit{State: &closed, Staff: &two, Reason: "night"}).Apply(zoning.Entrance{State: "open"})
	if err != nil || e.State != "closed" || e.Staff != 2 {
		t.Fatalf("edit %+v %v", e, err)
	}
	ajar := "ajar"
	for name, x := range map[string]zoning.EntranceEdit{"no reason": {State: &closed}, "nothing": {Reason: "r"}, "bad state": {State: &ajar, Reason: "r"}} {
		if _, err := x.Apply(zoning.Entrance{State: "open"}); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
