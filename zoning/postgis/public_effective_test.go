package postgis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// One definition of "in force at T" (migration 010): at every instant
// around each notice's effective time, the versions of
// public_zone_versions_at(T) are exactly the public timeline's versions with
// valid_from <= T < valid_to, and the view public_zone_versions is the
// function at riskzone_now().
func TestInForceAtOneDefinition(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	rows, err := e.s.Pool.Query(ctx, `SELECT effective_at FROM notices WHERE status = 'actual' ORDER BY effective_at`)
	if err != nil {
		t.Fatal(err)
	}
	effs, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil || len(effs) < 3 {
		t.Fatalf("%d notices (%v): the demo story publishes several", len(effs), err)
	}
	checked := 0
	for _, eff := range effs {
		for _, at := range []time.Time{eff.Add(-time.Microsecond), eff, eff.Add(time.Microsecond)} {
			var onlyFn, onlyTimeline, inForce int
			if err := e.s.Pool.QueryRow(ctx, `WITH f AS (SELECT zone_id, version FROM public_zone_versions_at($1)),
				tl AS (SELECT zone_id, version FROM public_zone_timeline WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1))
				SELECT (SELECT count(*) FROM (SELECT * FROM f EXCEPT SELECT * FROM tl) x),
				       (SELECT count(*) FROM (SELECT * FROM tl EXCEPT SELECT * FROM f) x),
				       (SELECT count(*) FROM f)`, at).Scan(&onlyFn, &onlyTimeline, &inForce); err != nil {
				t.Fatal(err)
			}
			if onlyFn != 0 || onlyTimeline != 0 {
				t.Fatalf("at %s: %d versions only in public_zone_versions_at, %d only in the timeline", at, onlyFn, onlyTimeline)
			}
			checked += inForce
		}
	}
	if checked == 0 {
		t.Fatal("no zone was in force at any instant checked")
	}
	var differ int
	if err := e.s.Pool.QueryRow(ctx, `SELECT count(*) FROM (
		(SELECT zone_id, version FROM public_zone_versions EXCEPT SELECT zone_id, version FROM public_zone_versions_at(now()))
		UNION ALL
		(SELECT zone_id, version FROM public_zone_versions_at(now()) EXCEPT SELECT zone_id, version FROM public_zone_versions)) x`).Scan(&differ); err != nil || differ != 0 {
		t.Fatalf("the view and the function at now differ by %d versions (%v)", differ, err)
	}
}

// setClock moves riskzone_now() of the test database to at for new
// connections and drops the pool's, so that the next queries see it.
func setClock(t *testing.T, s *postgis.Store, at time.Time) {
	t.Helper()
	db := s.Pool.Config().ConnConfig.Database
	if _, err := s.Pool.Exec(context.Background(), fmt.Sprintf(`ALTER DATABASE %s SET riskzone.clock = '%s'`,
		pgx.Identifier{db}.Sanitize(), at.UTC().Format(time.RFC3339Nano))); err != nil {
		t.Fatal(err)
	}
	s.Pool.Reset()
}

// A notice published ahead of its effective time: the view keeps the old
// version until then, and when the time has passed, replicas waking up at
// once bump the zones layer exactly once.
func TestTakeEffectOnceAcrossReplicas(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	var zone int64
	if err := e.s.Pool.QueryRow(ctx, `SELECT zone_id FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1`).Scan(&zone); err != nil {
		t.Fatal(err)
	}
	if _, err := e.zones.Lift(ctx, as(e.admin), zone, zoning.LiftRequest{Reason: "test: lifted by the command centre", Override: true}); err != nil {
		t.Fatal(err)
	}
	published := time.Now().UTC().Truncate(time.Millisecond)
	effective := published.Add(36 * time.Hour)
	ns := postgis.Notices{S: e.s, Now: func() time.Time { return published }}
	if _, err := ns.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: e.sum.CountyID, EffectiveAt: &effective, Reason: "later"}); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		var s string
		if err := e.s.Pool.QueryRow(ctx, `SELECT status FROM public_zone_versions WHERE zone_id = $1`, zone).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	setClock(t, e.s, effective.Add(-time.Second))
	if s := status(); s != zoning.ZoneActive {
		t.Fatalf("a second before the effective time the public version is %s", s)
	}
	if bumped, next, err := ns.TakeEffect(ctx); err != nil || bumped || next != time.Second {
		t.Fatalf("before the effective time: bumped %v, next %s, %v", bumped, next, err)
	}
	setClock(t, e.s, effective)
	if s := status(); s != zoning.ZoneLifted {
		t.Fatalf("at the effective time the public version is %s", s)
	}
	other, err := postgis.Open(ctx, e.s.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var wg sync.WaitGroup
	var bumps atomic.Int32
	for i := range 8 {
		st := e.s
		if i%2 == 1 {
			st = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			bumped, _, err := postgis.Notices{S: st}.TakeEffect(ctx)
			if err != nil {
				t.Error(err)
			}
			if bumped {
				bumps.Add(1)
			}
		}()
	}
	wg.Wait()
	if bumps.Load() != 1 {
		t.Fatalf("%d bumps of the zones layer by 8 wake-ups on two replicas, want 1", bumps.Load())
	}
}
