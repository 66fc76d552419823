package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// auditRecord is what a write tells the audit log, also when it is refused.
type auditRecord struct {
	action, entity, entityID string
	before, after            any
}

// write runs fn in a transaction with its audit entry and layer bump. When
// fn refuses (a conflict, the second-person rule, a lift the rule does not
// allow), the refusal is audited in a transaction of its own.
func (z Zones) write(ctx context.Context, origin zoning.Origin, rec *auditRecord, fn func(pgx.Tx) error) error {
	// Every lifecycle write bumps both layers the map draws (and NOTIFYs).
	bump := func(tx pgx.Tx) error { return bumpLayers(ctx, tx, "zones", "proposals") }
	return auditedWrite(ctx, z.S, origin, rec, fn, bump, z.afterCommit)
}

// auditedWrite runs fn in a transaction, then its audit entry and finish
// (the layer bump or NOTIFY the write owes its readers), and commits;
// afterCommit (tests) runs after the commit. A refusal by fn (see
// refusalOutcome) is audited in a transaction of its own, since the main
// one rolls back; other errors are returned as they are.
func auditedWrite(ctx context.Context, s *Store, origin zoning.Origin, rec *auditRecord, fn, finish func(pgx.Tx) error, afterCommit func()) error {
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback(ctx)
		outcome := refusalOutcome(err)
		if outcome == "" {
			return err
		}
		e := origin.Entry(rec.action, rec.entity, rec.entityID)
		e.Outcome, e.Before = outcome, rec.before
		e.After = map[string]any{"refused": zoning.Message(err), "attempt": rec.after}
		if aerr := WriteAudit(context.WithoutCancel(ctx), s.Pool, e); aerr != nil {
			return fmt.Errorf("%s was refused (%s) and the refusal could not be audited: %w", rec.action, zoning.Message(err), aerr)
		}
		return err
	}
	if err := zoningAudit(ctx, tx, origin, rec.action, rec.entity, rec.entityID, rec.before, rec.after); err != nil {
		return err
	}
	if finish != nil {
		if err := finish(tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit %s: %w", rec.action, err)
	}
	if afterCommit != nil {
		afterCommit()
	}
	return nil
}

// refusalOutcome is the audit outcome of a refused write, or "" for errors
// that are not refusals (bad input, unknown ids, internal errors).
func refusalOutcome(err error) string {
	var stale *zoning.StaleVersionError
	switch {
	case errors.As(err, &stale):
		return zoning.OutcomeConflict
	case errors.Is(err, zoning.ErrConflict), errors.Is(err, zoning.ErrForbidden):
		return zoning.OutcomeRefused
	}
	return ""
}

func secondPerson(origin zoning.Origin, author *int64, what, why string) error {
	var a int64
	if author != nil {
		a = *author
	}
	if err := origin.Actor.SecondPerson(a); err != nil {
		if origin.Actor.UserID != 0 && origin.Actor.UserID == a {
			return zoning.Errorf(zoning.ErrForbidden, "%s: a second person must do this, %s", what, why)
		}
		return zoning.Errorf(zoning.Kind(err), "%s: %s", what, zoning.Message(err))
	}
	return nil
}

// lockCounty serialises the writes that change which buildings of a county
// are zoned, and its low-risk periods.
func lockCounty(ctx context.Context, tx pgx.Tx, county int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('riskzone-zones'), $1::int)`, int32(county)); err != nil {
		return fmt.Errorf("lock zones of county %d: %w", county, err)
	}
	return nil
}

// zoneState is a zone locked for a change, with its current version.
type zoneState struct {
	id, county   int64
	version      int
	status       string
	createdAt    time.Time
	level, name  string
	ruleSetID    string
	buildingIDs  []int64
	unitIDs      []int64
	population   int
	clock        zoning.Date
	clockReason  string
	validFrom    time.Time
	designatedBy *int64 // author of version 1
	// designatedOn is the designation day (zones.designated_on), the floor
	// of a recomputed clock.
	designatedOn zoning.Date
}

func (st zoneState) ref() map[string]any {
	return map[string]any{"zone_id": st.id, "version": st.version, "status": st.status}
}

// editable refuses a change of a zone that is not active, or of a version
// that is not the current one (expected 0 means the caller gave none).
func (st zoneState) editable(expected int) error {
	if expected == 0 {
		return zoning.Errorf(zoning.ErrInvalid, "say which version of zone %d you change: send If-Match: %s or a \"version\" field",
			st.id, zoning.VersionETag(st.id, st.version))
	}
	if expected != st.version {
		return &zoning.StaleVersionError{ZoneID: st.id, Given: expected, Current: st.version, Status: st.status}
	}
	if st.status != zoning.ZoneActive {
		return zoning.Errorf(zoning.ErrConflict, "zone %d is %s: only an active zone can be changed", st.id, st.status)
	}
	return nil
}

// lockZone locks a zone row (FOR UPDATE) and reads its current version;
// withCounty takes the county lock first (always before any zone row).
func lockZone(ctx context.Context, tx pgx.Tx, id int64, withCounty bool) (zoneState, error) {
	st := zoneState{id: id}
	if withCounty {
		err := tx.QueryRow(ctx, `SELECT county_id FROM zones WHERE id = $1`, id).Scan(&st.county)
		if errors.Is(err, pgx.ErrNoRows) {
			return st, zoning.Errorf(zoning.ErrNotFound, "zone %d not found", id)
		}
		if err != nil {
			return st, fmt.Errorf("look up zone %d: %w", id, err)
		}
		if err := lockCounty(ctx, tx, st.county); err != nil {
			return st, err
		}
	}
	var clock, designated time.Time
	err := tx.QueryRow(ctx, `SELECT z.county_id, z.current_version, z.status, z.created_at, v.level, v.name, v.rule_set_id,
			v.building_ids, v.unit_ids, v.population, v.clock_start, v.clock_reason, v.valid_from,
			(SELECT f.author_id FROM zone_versions f WHERE f.zone_id = z.id AND f.version = 1),
			coalesce(z.designated_on, (SELECT f.clock_start FROM zone_versions f WHERE f.zone_id = z.id AND f.version = 1))
		FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.id = $1
		FOR UPDATE OF z`, id).Scan(&st.county, &st.version, &st.status, &st.createdAt, &st.level, &st.name, &st.ruleSetID,
		&st.buildingIDs, &st.unitIDs, &st.population, &clock, &st.clockReason, &st.validFrom, &st.designatedBy, &designated)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, zoning.Errorf(zoning.ErrNotFound, "zone %d not found", id)
	}
	if err != nil {
		return st, fmt.Errorf("lock zone %d: %w", id, err)
	}
	st.clock, st.designatedOn = zoning.AsDate(clock), zoning.AsDate(designated)
	return st, nil
}

// after is the time of a new version: now, or just after the version it
// follows when the clock has not moved past it (versions tile time).
func after(now, prev time.Time) time.Time {
	if now.After(prev) {
		return now
	}
	return prev.Add(time.Microsecond)
}

// advance closes the zone's current version at `at`, lets add write the next
// version, and moves the zone to it with the given status.
func advance(ctx context.Context, tx pgx.Tx, st zoneState, at time.Time, status string, add func(next int) error) (int, error) {
	tag, err := tx.Exec(ctx, `UPDATE zone_versions SET valid_to = $3 WHERE zone_id = $1 AND version = $2 AND valid_to IS NULL`,
		st.id, st.version, at)
	if err != nil {
		return 0, fmt.Errorf("close version %d of zone %d: %w", st.version, st.id, err)
	}
	if tag.RowsAffected() != 1 {
		return 0, fmt.Errorf("close version %d of zone %d: it is not open", st.version, st.id)
	}
	next := st.version + 1
	if err := add(next); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE zones SET current_version = $2, status = $3 WHERE id = $1`, st.id, next, status); err != nil {
		return 0, fmt.Errorf("move zone %d to version %d: %w", st.id, next, err)
	}
	return next, nil
}

// versionRow is a new zone version with its content.
type versionRow struct {
	zoneID                      int64
	version                     int
	level, status, change, name string
	rules                       zoning.RuleSet
	c                           content
	clock                       zoning.Date
	clockReason                 string
	validFrom                   time.Time
	author                      *int64
	reason                      string
}

func insertVersion(ctx context.Context, tx pgx.Tx, v versionRow) error {
	if _, err := tx.Exec(ctx, `INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, unit_ids,
			population, staff_required, area_m2, rule_set_id, clock_start, clock_reason, valid_from, author_id, reason)
		VALUES ($1, $2, $3, $4, $5, $6, ST_GeomFromEWKB($7), $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		v.zoneID, v.version, v.level, v.status, v.change, v.name, v.c.geom, v.c.buildingIDs, v.c.unitIDs, v.c.population,
		v.rules.StaffRequired(v.c.population), v.c.areaM2, v.rules.ID, v.clock.Time, v.clockReason, v.validFrom, v.author,
		v.reason); err != nil {
		return fmt.Errorf("insert version %d of zone %d: %w", v.version, v.zoneID, err)
	}
	return nil
}

// copyVersion writes version next of the zone with the content of its
// current version and a new status, change, clock and author.
func copyVersion(ctx context.Context, tx pgx.Tx, st zoneState, next int, status, change string, clock zoning.Date, clockReason string,
	at time.Time, author *int64, reason string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO zone_versions (zone_id, version, level, status, change, name, geom, building_ids, unit_ids,
			population, staff_required, area_m2, rule_set_id, clock_start, clock_reason, valid_from, author_id, reason)
		SELECT zone_id, $3, level, $4, $5, name, geom, building_ids, unit_ids, population, staff_required, area_m2, rule_set_id,
		       $6, $7, $8, $9, $10
		FROM zone_versions WHERE zone_id = $1 AND version = $2`,
		st.id, st.version, next, status, change, clock.Time, clockReason, at, author, reason); err != nil {
		return fmt.Errorf("insert version %d of zone %d: %w", next, st.id, err)
	}
	return nil
}

func versionGeom(ctx context.Context, tx pgx.Tx, id int64, version int) ([]byte, error) {
	var g []byte
	if err := tx.QueryRow(ctx, `SELECT ST_AsEWKB(geom) FROM zone_versions WHERE zone_id = $1 AND version = $2`, id, version).Scan(&g); err != nil {
		return nil, fmt.Errorf("geometry of version %d of zone %d: %w", version, id, err)
	}
	return g, nil
}

func loadRuleSet(ctx context.Context, q querier, id string) (zoning.RuleSet, error) {
	var r zoning.RuleSet
	var levels, loop []byte
	err := q.QueryRow(ctx, `SELECT id, name, edition, levels, clean_days, screening_required, staff_ratio, finest_granularity, default_level,
			closed_loop, quarantine_rooms_per_10k, quarantine_rooms_per_staff
		FROM rule_sets WHERE id = $1`, id).Scan(&r.ID, &r.Name, &r.Edition, &levels, &r.CleanDays, &r.ScreeningRequired,
		&r.StaffRatio, &r.FinestGranularity, &r.DefaultLevel, &loop, &r.QuarantineRoomsPer10k, &r.QuarantineRoomsPerStaff)
	if err != nil {
		return r, fmt.Errorf("load rule set %s: %w", id, err)
	}
	if err := json.Unmarshal(levels, &r.Levels); err != nil {
		return r, fmt.Errorf("rule set %s levels: %w", id, err)
	}
	if r.ClosedLoop, err = zoning.ParseClosedLoopLimits(loop); err != nil {
		// A stored set that does not parse is the operator's fault, not the caller's.
		return r, fmt.Errorf("rule set %s closed_loop: %s", id, zoning.Message(err))
	}
	return r, nil
}

func countyRuleSet(ctx context.Context, tx pgx.Tx, county int64) (zoning.RuleSet, error) {
	var id string
	err := tx.QueryRow(ctx, `SELECT coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default))
		FROM admin_areas a WHERE a.id = $1 AND a.level = 'county'`, county).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.RuleSet{}, zoning.Errorf(zoning.ErrNotFound, "county %d not found", county)
	}
	if err != nil {
		return zoning.RuleSet{}, fmt.Errorf("rule set of county %d: %w", county, err)
	}
	return loadRuleSet(ctx, tx, id)
}
