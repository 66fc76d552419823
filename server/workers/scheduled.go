package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// The scheduled lifting-eligibility check (SPEC §2: a zone that qualifies
// must be lifted promptly). Every replica runs the loop; each period
// (server.Config.LiftingCheckInterval, default 1 h) is checked once across all of
// them:
//
//   - a run takes a transaction-level advisory lock (pg_try_advisory_xact_lock):
//     a replica that does not get it skips, another one is at work;
//   - under the lock it looks for the period's record in the audit log
//     (action schedule.lifting_check, entity_id = the period start); a
//     period already done is skipped;
//   - it evaluates the lifting rule of every active zone and appends, in
//     the same transaction, one audit entry zone.lifting_due per zone
//     version newly found eligible, and the period's record with counts.
//
// A replica that dies mid-run rolls back: the period is free again and the
// next tick (on any replica) does it. The audit log is the record: no table
// of its own, append-only like every write.

const liftingCheckJob = "schedule.lifting_check"

// liftingCheckLock is the advisory lock key of the check.
const liftingCheckLock = 0x72697a6f6e65_01 // "rizone" 01

// Scheduler is the check's state on one replica; it also runs the
// effective-time wake-up (RunEffects).
type Scheduler struct {
	// Now is the zone calendar's clock (tests move it before Start).
	Now func() time.Time
	// Runner names this replica in the audit log (host:pid).
	Runner string

	store *postgis.Store
	log   *slog.Logger
	every time.Duration
	// down reports degraded mode: no look while the database is down.
	down func() bool
	runs atomic.Int64 // periods this replica checked
	// effects counts the zones-layer bumps this replica's effective-time
	// wake-up made (RunEffects).
	effects atomic.Int64
	// lastDone is the latest period known done (unix seconds), so that a
	// replica asks the database once per period, not once per tick.
	lastDone atomic.Int64
}

// NewScheduler makes the scheduler of one replica: a check every period
// (none when every <= 0), the zone calendar's clock now, and down reporting
// degraded mode.
func NewScheduler(store *postgis.Store, log *slog.Logger, every time.Duration, now func() time.Time, down func() bool) *Scheduler {
	host, _ := os.Hostname()
	return &Scheduler{store: store, log: log, every: every, Now: now, down: down,
		Runner: host + ":" + strconv.Itoa(os.Getpid())}
}

// Runs is the number of periods this replica checked.
func (sc *Scheduler) Runs() int64 { return sc.runs.Load() }

// Effects is the number of zones-layer bumps this replica's wake-up made.
func (sc *Scheduler) Effects() int64 { return sc.effects.Load() }

// Run checks each period until ctx ends.
func (sc *Scheduler) Run(ctx context.Context) {
	if sc.every <= 0 {
		return
	}
	tick := time.NewTicker(min(sc.every, time.Minute))
	defer tick.Stop()
	for {
		slot := time.Now().UTC().Truncate(sc.every)
		if !sc.down() && sc.lastDone.Load() != slot.Unix() {
			if _, err := sc.Check(ctx, slot); err != nil && ctx.Err() == nil {
				sc.log.Warn("lifting check", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Check runs the period starting at slot unless another replica holds or
// has done it; ran reports whether this call did the work.
func (sc *Scheduler) Check(ctx context.Context, slot time.Time) (ran bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, max(sc.every, time.Minute))
	defer cancel()
	pool := sc.store.Pool
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	var locked bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(liftingCheckLock)).Scan(&locked); err != nil {
		return false, fmt.Errorf("lock: %w", err)
	}
	if !locked {
		return false, nil
	}
	period := slot.UTC().Format(time.RFC3339Nano)
	var done bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = $1 AND entity = 'schedule' AND entity_id = $2)`,
		liftingCheckJob, period).Scan(&done); err != nil {
		return false, fmt.Errorf("look for period %s: %w", period, err)
	}
	if done {
		sc.lastDone.Store(slot.Unix())
		return false, nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM zones WHERE status = 'active' ORDER BY id`)
	if err != nil {
		return false, fmt.Errorf("active zones: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return false, fmt.Errorf("active zones: %w", err)
	}
	origin := zoning.Origin{Actor: zoning.Principal{Username: "scheduler", Role: zoning.RoleAdmin, Via: zoning.ViaCLI},
		RemoteAddr: sc.Runner, Reason: "scheduled lifting-eligibility check"}
	zones := postgis.Zones{S: sc.store, Now: sc.Now}
	eligible, found := 0, 0
	for _, id := range ids {
		ls, err := zones.Lifting(ctx, id)
		if errors.Is(err, zoning.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("lifting rule of zone %d: %w", id, err)
		}
		if !ls.Eligible {
			continue
		}
		eligible++
		var known bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'zone.lifting_due' AND entity = 'zone'
			AND entity_id = $1 AND (after->>'version')::int = $2)`, strconv.FormatInt(id, 10), ls.Version).Scan(&known); err != nil {
			return false, fmt.Errorf("zone %d: %w", id, err)
		}
		if known {
			continue
		}
		e := origin.Entry("zone.lifting_due", "zone", strconv.FormatInt(id, 10))
		e.After = map[string]any{"version": ls.Version, "earliest_lifting": ls.EarliestLifting, "reasons": ls.Reasons, "period": period}
		if err := postgis.WriteAudit(ctx, tx, e); err != nil {
			return false, err
		}
		found++
	}
	e := origin.Entry(liftingCheckJob, "schedule", period)
	e.After = map[string]any{"active_zones": len(ids), "eligible": eligible, "newly_eligible": found, "runner": sc.Runner}
	if err := postgis.WriteAudit(ctx, tx, e); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit lifting check: %w", err)
	}
	sc.runs.Add(1)
	sc.lastDone.Store(slot.Unix())
	if found > 0 {
		sc.log.Info("zones eligible for lifting", "newly", found, "eligible", eligible, "period", period)
	}
	return true, nil
}

// effectPoll bounds how long the effective-time wake-up sleeps: besides the
// next pending effective time it knows of and every NOTIFY on
// riskzone_layers (a publication), it looks again at least this often.
const effectPoll = time.Minute

// RunEffects is the effective-time wake-up. A notice may be published ahead
// of its effective time (a lift announced today for tomorrow); the public
// view switches at that time by itself (migration 009), but caches keyed by
// layer versions (tiles, the lookup index, pages) only refresh when a layer
// moves. So every replica sleeps until the next pending effective time and
// then bumps the zones layer (postgis.Notices.TakeEffect: once across
// replicas, with NOTIFY riskzone_layers to all of them).
func (sc *Scheduler) RunEffects(ctx context.Context) {
	wake := make(chan struct{}, 1)
	go Listen(ctx, sc.store.Pool, sc.log, postgis.LayersChannel, wake)
	for {
		wait := effectPoll
		if !sc.down() {
			wait = sc.TakeEffect(ctx)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// TakeEffect runs one wake-up and returns how long to sleep.
func (sc *Scheduler) TakeEffect(ctx context.Context) time.Duration {
	bumped, next, err := postgis.Notices{S: sc.store}.TakeEffect(ctx)
	if err != nil {
		if ctx.Err() == nil {
			sc.log.Warn("effective-time wake-up", "err", err)
		}
		return effectPoll
	}
	if bumped {
		sc.effects.Add(1)
		sc.log.Info("a published notice took effect: zones layer bumped")
	}
	if next > 0 {
		// A little after the instant, so the database's clock has passed it.
		return min(effectPoll, next+10*time.Millisecond)
	}
	return effectPoll
}
