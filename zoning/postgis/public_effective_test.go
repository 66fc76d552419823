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
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// One definition of "in force at T" (migration 009): at every instant
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
	// A custom setting of a database is a superuser's to change.
	pgtest.AdminExec(t, s, fmt.Sprintf(`ALTER DATABASE %s SET riskzone.clock = '%s'`,
		pgx.Identifier{db}.Sanitize(), at.UTC().Format(time.RFC3339Nano)))
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

// A newer version published to take effect sooner supersedes one still
// waiting for its effective time: that one is never in force, neither now
// nor at its own effective time, and the timeline gives it an empty span
// that the lookup's history leaves out.
func TestSupersededBeforeItTookEffect(t *testing.T) {
	e := newStoryEnv(t)
	ctx := context.Background()
	zone := e.adjust(0) // skip no zone (an empty skip list would match none)
	published := time.Now().UTC().Truncate(time.Millisecond)
	tomorrow := published.Add(24 * time.Hour)
	ns := postgis.Notices{S: e.s, Now: func() time.Time { return published }}
	if _, err := ns.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: e.sum.CountyID, EffectiveAt: &tomorrow, Reason: "tomorrow"}); err != nil {
		t.Fatal(err)
	}
	var waiting, v int
	var b []int64
	if err := e.s.Pool.QueryRow(ctx, `SELECT max(version) FILTER (WHERE published_notice_id IS NOT NULL) FROM zone_versions WHERE zone_id = $1`, zone).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	var near *int64
	if err := e.s.Pool.QueryRow(ctx, `SELECT z.current_version, v.building_ids,
			(SELECT o.id FROM buildings o WHERE o.county_id = z.county_id AND NOT (o.id = ANY (v.building_ids))
			   AND NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = o.id AND u.id = ANY (v.unit_ids))
			 ORDER BY o.geom <-> v.geom, o.id LIMIT 1)
		FROM zones z JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.id = $1`, zone).Scan(&v, &b, &near); err != nil {
		t.Fatalf("zone %d: %v", zone, err)
	}
	// The second adjust removes a building, or adds the nearest one to a
	// zone of one building (the bounded engine draws small zones).
	second := zoning.MemberChange{}
	switch {
	case len(b) >= 2:
		second.RemoveBuildings = b[len(b)-1:]
	case near != nil:
		second.AddBuildings = []int64{*near}
	default:
		t.Fatalf("zone %d: nothing to adjust", zone)
	}
	if _, err := e.zones.EditMembers(ctx, as(e.approver), zone, zoning.MembersEdit{Version: v, Reason: "second adjust, at once",
		MemberChange: second}); err != nil {
		t.Fatal(err)
	}
	now := published.Add(time.Minute)
	ns.Now = func() time.Time { return now }
	if _, err := ns.Publish(ctx, as(e.pub), zoning.PublishRequest{CountyID: e.sum.CountyID, Reason: "now"}); err != nil {
		t.Fatal(err)
	}
	var newest int
	if err := e.s.Pool.QueryRow(ctx, `SELECT current_version FROM zones WHERE id = $1`, zone).Scan(&newest); err != nil || newest <= waiting {
		t.Fatalf("versions: waiting %d, newest %d (%v)", waiting, newest, err)
	}
	publicVersion := func() int {
		var pv int
		if err := e.s.Pool.QueryRow(ctx, `SELECT version FROM public_zone_versions WHERE zone_id = $1`, zone).Scan(&pv); err != nil {
			t.Fatal(err)
		}
		return pv
	}
	for _, at := range []time.Time{now.Add(time.Second), tomorrow, tomorrow.Add(time.Hour)} {
		setClock(t, e.s, at)
		if pv := publicVersion(); pv != newest {
			t.Fatalf("at %s the public version is %d, want the newest %d (never the superseded %d)", at, pv, newest, waiting)
		}
	}
	var from, to *time.Time
	if err := e.s.Pool.QueryRow(ctx, `SELECT valid_from, valid_to FROM public_zone_timeline WHERE zone_id = $1 AND version = $2`, zone, waiting).Scan(&from, &to); err != nil ||
		from == nil || to == nil || !from.Equal(*to) {
		rows, _ := e.s.Pool.Query(ctx, `SELECT nz.notice_id::text || ' v' || nz.version || ' ' || n.status || ' ' || n.effective_at::text FROM notice_zones nz JOIN notices n ON n.id = nz.notice_id WHERE zone_id = $1`, zone)
		got, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		t.Logf("notice_zones of zone %d: %v", zone, got)
		t.Fatalf("timeline span of the superseded version: %v-%v (%v)", from, to, err)
	}
	tl, err := ns.Timeline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range tl {
		if x.ZoneID == zone && x.Version == waiting {
			t.Fatalf("the lookup's history holds version %d, never in force", waiting)
		}
	}
}
