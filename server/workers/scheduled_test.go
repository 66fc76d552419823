package workers_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The lifting-eligibility check on two replicas at once: every period is
// checked by exactly one of them, and every eligible zone version is
// reported (audited zone.lifting_due) exactly once.
func TestLiftingCheckOnceAcrossReplicas(t *testing.T) {
	e := newStoryEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Sixty days from now, without the screening rule, every active zone
	// qualifies.
	if _, err := e.store.Pool.Exec(ctx, `UPDATE rule_sets SET screening_required = false`); err != nil {
		t.Fatal(err)
	}
	var active int
	if err := e.store.Pool.QueryRow(ctx, `SELECT count(*) FROM zones WHERE status = 'active'`).Scan(&active); err != nil {
		t.Fatal(err)
	}
	if active == 0 {
		t.Fatal("the demo story left no active zone")
	}
	storeB, err := postgis.Open(ctx, e.store.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer storeB.Close()
	later := func() time.Time { return time.Now().AddDate(0, 0, 60) }
	var scheds []*workers.Scheduler
	for _, st := range []*postgis.Store{e.store, storeB} {
		sc := workers.NewScheduler(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 200*time.Millisecond, later, func() bool { return false })
		sc.Runner = st.Pool.Config().ConnConfig.Database + "-" + string(rune('A'+len(scheds)))
		scheds = append(scheds, sc)
	}
	// Both replicas try every period at the same moments.
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	slots := 0
	for slot := time.Now().UTC().Truncate(200 * time.Millisecond); slots < 8; slot = slot.Add(200 * time.Millisecond) {
		slots++
		for _, sc := range scheds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := sc.Check(runCtx, slot); err != nil {
					t.Errorf("check %s: %v", slot, err)
				}
			}()
		}
		wg.Wait()
		// And once more each, later: the period is done.
		for _, sc := range scheds {
			if ran, err := sc.Check(runCtx, slot); err != nil || ran {
				t.Fatalf("a done period ran again: %v %v", ran, err)
			}
		}
	}
	stop()
	var periods, due, dueDistinct int
	if err := e.store.Pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM audit_log WHERE action = 'schedule.lifting_check'),
		(SELECT count(*) FROM audit_log WHERE action = 'zone.lifting_due'),
		(SELECT count(DISTINCT (entity_id, after->>'version')) FROM audit_log WHERE action = 'zone.lifting_due')`).Scan(&periods, &due, &dueDistinct); err != nil {
		t.Fatal(err)
	}
	ran := scheds[0].Runs() + scheds[1].Runs()
	if periods != slots || ran != int64(slots) {
		t.Fatalf("%d periods recorded and %d runs (A %d, B %d) for %d periods: want one run each", periods, ran,
			scheds[0].Runs(), scheds[1].Runs(), slots)
	}
	if due != active || dueDistinct != active {
		t.Fatalf("%d lifting_due entries (%d distinct) for %d eligible zones", due, dueDistinct, active)
	}
	t.Logf("%d periods: replica A ran %d, B ran %d; %d zones reported once", slots, scheds[0].Runs(), scheds[1].Runs(), active)
}
