package postgis_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// NoticesSince pages the notices after an id in order; bad input is
// refused; and a notice id is taken under a lock held to commit, so no
// reader can see a later id before an earlier one commits.
func TestNoticesSince(t *testing.T) {
	e := newZoneEnv(t)
	ctx := context.Background()
	pub := mustUser(t, e.s, "pub", zoning.RolePublisher, "")
	ns := postgis.Notices{S: e.s, Now: e.clk.Now}
	e.buildingZone(0, 0)
	first, err := ns.Publish(ctx, as(pub), zoning.PublishRequest{CountyID: e.county})
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{first[0].ID}
	pub2 := mustUser(t, e.s, "pub2", zoning.RolePublisher, "")
	fix := func() int64 {
		return correct(t, ns, pub, pub2, first[0].ID, zoning.CorrectionRequest{Note: "更正联系电话。"}).ID
	}
	ids = append(ids, fix(), fix())
	var got []int64
	for since, pages := int64(0), 0; ; pages++ {
		list, more, err := ns.NoticesSince(ctx, e.county, since, 2)
		if err != nil || pages > 2 {
			t.Fatalf("page %d: %v", pages, err)
		}
		for _, n := range list {
			got = append(got, n.ID)
			since = n.ID
		}
		if !more {
			break
		}
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("paged %v, want %v", got, ids)
	}
	if list, more, err := ns.NoticesSince(ctx, 999, 0, 10); err != nil || len(list) != 0 || more {
		t.Fatalf("another county: %v %v %v", list, more, err)
	}
	for _, bad := range []struct {
		since int64
		limit int
	}{{-1, 10}, {0, 0}, {0, postgis.MaxNoticesPage + 1}} {
		if _, _, err := ns.NoticesSince(ctx, 0, bad.since, bad.limit); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("since %d limit %d: %v", bad.since, bad.limit, err)
		}
	}

	// A transaction holding the notice-id lock (as a publication does from
	// taking its id to its commit) holds back the next notice.
	tx, err := e.s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('riskzone-notice-ids')::bigint)`); err != nil {
		t.Fatal(err)
	}
	draft, err := ns.DraftCorrection(ctx, as(pub), first[0].ID, zoning.CorrectionRequest{Note: "更正联系电话。"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int64, 1)
	go func() {
		n, err := ns.ConfirmCorrection(ctx, as(pub2), draft.ID, zoning.CorrectionDecision{})
		if err != nil {
			t.Error(err)
		}
		done <- n.ID
	}()
	select {
	case id := <-done:
		t.Fatalf("notice %d was written while an earlier publication held the notice ids", id)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-done:
		if id <= ids[2] {
			t.Fatalf("notice %d after %d", id, ids[2])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held-back notice was not written after the lock was released")
	}
}
