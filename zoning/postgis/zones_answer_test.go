package postgis_test

import (
	"context"
	"slices"
	"testing"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// A write answers the version it made, read in its own transaction: a second
// writer that commits between the first write's commit and its answer (a
// hook, not a sleep) must not show up in the first write's answer, whose ETag
// would otherwise let its client overwrite a change it never saw.
func TestZoneWriteAnswersWhatItWrote(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	zn := e.buildingZone(0, 0)
	other := e.z // the second writer: no hook
	var interleaved []int
	first := postgis.WithAfterCommit(e.z, func() {
		// The second writer edits the version the first one just made.
		cur, err := other.Get(ctx, zn.ID)
		if err != nil {
			t.Fatal(err)
		}
		next, err := other.EditMembers(ctx, as(e.alice), zn.ID, zoning.MembersEdit{Version: cur.CurrentVersion, Reason: "second writer",
			MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(2, 2+len(interleaved))}}})
		if err != nil {
			t.Fatalf("second writer: %v", err)
		}
		interleaved = append(interleaved, next.CurrentVersion)
	})

	// Member edit: the answer is version 2 with the building it added, not
	// the second writer's version 3.
	got, err := first.EditMembers(ctx, as(e.bob), zn.ID, zoning.MembersEdit{Version: 1, Reason: "first writer",
		MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(1, 0)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentVersion != 2 || got.ETag() != zoning.VersionETag(zn.ID, 2) || slices.Contains(got.Current.BuildingIDs, e.at(2, 2)) ||
		!slices.Contains(got.Current.BuildingIDs, e.at(1, 0)) {
		t.Fatalf("edit answered version %d (ETag %s, buildings %v); want its own version 2 (the second writer made %v)",
			got.CurrentVersion, got.ETag(), got.Current.BuildingIDs, interleaved)
	}
	if got.Current.Reason != "first writer" {
		t.Fatalf("edit answered a version written for %q", got.Current.Reason)
	}

	// Geometry edit on the current version (3): answers 4, not the second writer's 5.
	cur, err := e.z.Get(ctx, zn.ID)
	if err != nil {
		t.Fatal(err)
	}
	g, err := first.ReplaceGeometry(ctx, as(e.bob), zn.ID, zoning.GeometryEdit{Version: cur.CurrentVersion, Reason: "first writer redraws",
		Geometry: cur.Current.Geometry})
	if err != nil {
		t.Fatal(err)
	}
	if g.CurrentVersion != cur.CurrentVersion+1 || g.Current.Reason != "first writer redraws" {
		t.Fatalf("geometry edit answered version %d (%q); want %d", g.CurrentVersion, g.Current.Reason, cur.CurrentVersion+1)
	}

	// Approve: the new zone's version 1, even though a second writer adjusts
	// it right after the commit.
	b := e.at(4, 4)
	e.addCase(b, 1, "2022-11-20")
	e.addCase(b, 2, "2022-11-20")
	var pid int64
	for _, id := range e.proposeBy(e.alice, "2022-11-20") {
		p, err := e.z.Proposal(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status == "proposed" && slices.Contains(p.BuildingIDs, b) {
			pid = id
		}
	}
	if pid == 0 {
		t.Fatalf("no open proposal holds building %d", b)
	}
	var newZone int64
	approver := postgis.WithAfterCommit(e.z, func() {
		p, err := other.Proposal(ctx, pid)
		if err != nil || p.ZoneID == nil {
			t.Fatalf("proposal %d after approval: %+v %v", pid, p, err)
		}
		newZone = *p.ZoneID
		if _, err := other.EditMembers(ctx, as(e.alice), newZone, zoning.MembersEdit{Version: 1, Reason: "second writer after approval",
			MemberChange: zoning.MemberChange{AddBuildings: []int64{e.at(4, 5)}}}); err != nil {
			t.Fatalf("second writer after approval: %v", err)
		}
	})
	az, err := approver.Approve(ctx, as(e.bob), pid, zoning.ApproveRequest{Reason: "designate"})
	if err != nil {
		t.Fatal(err)
	}
	if az.ID != newZone || az.CurrentVersion != 1 || az.ETag() != zoning.VersionETag(newZone, 1) {
		t.Fatalf("approve answered zone %d version %d; want zone %d version 1", az.ID, az.CurrentVersion, newZone)
	}

	if n := len(interleaved); n != 2 {
		t.Fatalf("the second writer ran %d times during the first writer's edits, want 2", n)
	}
}
