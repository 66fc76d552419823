package postgis_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
