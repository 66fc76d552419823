package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// AddScreening records a screening round of an active zone. A round with
// positive results is a new infection on its date: when that is later than
// the zone's clock, the clock moves (a version with change extend).
//
// The round covers the zone's population at its current version: a round
// that tested fewer people, or entered a smaller population, is refused
// unless it names a reason, and is then recorded as partial coverage (see
// zoning.NewScreening.Coverage). round_date is a day of the county's
// calendar: today is allowed, tomorrow is not.
func (z Zones) AddScreening(ctx context.Context, origin zoning.Origin, id int64, ns zoning.NewScreening) (zoning.Screening, error) {
	var county int64
	if err := z.S.Pool.QueryRow(ctx, `SELECT county_id FROM zones WHERE id = $1`, id).Scan(&county); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return zoning.Screening{}, fmt.Errorf("look up zone %d: %w", id, err)
	}
	loc, err := z.countyLoc(ctx, z.S.Pool, county)
	if err != nil {
		return zoning.Screening{}, err
	}
	day, err := ns.Validate(zoning.DateOf(z.now(), loc))
	if err != nil {
		return zoning.Screening{}, err
	}
	if origin.Reason == "" {
		origin.Reason = "record a screening round"
	}
	rec := &auditRecord{action: "zone.screening", entity: "zone", entityID: strconv.FormatInt(id, 10)}
	var out zoning.Screening
	err = z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		st, err := lockZone(ctx, tx, id, false)
		if err != nil {
			return err
		}
		rec.before = st.ref()
		if st.status != zoning.ZoneActive {
			return zoning.Errorf(zoning.ErrConflict, "zone %d is %s: screening rounds are recorded for active zones", st.id, st.status)
		}
		if designated := zoning.DateOf(st.createdAt, loc); day.Before(designated) {
			return zoning.Errorf(zoning.ErrInvalid, "round_date %s is before zone %d was designated (%s)", day, st.id, designated)
		}
		pop, partial, why, err := ns.Coverage(st.id, st.version, st.population)
		if err != nil {
			return err
		}
		at := z.now()
		out = zoning.Screening{ZoneID: st.id, RoundDate: day, Population: pop, Tested: ns.Tested, Negatives: ns.Negatives,
			Positives: ns.Positives, RecordedBy: actorID(origin), RecordedAt: at, ZoneVersion: st.version, ZonePopulation: st.population,
			Partial: partial, PartialReason: why}
		var reason any
		if partial {
			reason = why
		}
		if err := tx.QueryRow(ctx, `INSERT INTO screenings (zone_id, round_date, population, tested, negatives, positives, recorded_by, recorded_at,
				zone_version, zone_population, partial_reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`, st.id, day.Time, pop, ns.Tested, ns.Negatives, ns.Positives,
			actorID(origin), at, st.version, st.population, reason).Scan(&out.ID); err != nil {
			return fmt.Errorf("insert screening: %w", err)
		}
		if pop == st.population { // the zone's population, maybe an estimate (as screenings_list reads it)
			if err := tx.QueryRow(ctx, query("zone_version_estimated"), st.id, st.version).Scan(&out.PopulationEstimated); err != nil {
				return fmt.Errorf("population of zone %d: %w", st.id, err)
			}
		}
		result := map[string]any{"screening_id": out.ID, "round_date": day, "population": pop, "tested": ns.Tested, "positives": ns.Positives,
			"zone_version": st.version, "zone_population": st.population, "partial_coverage": partial}
		if ns.Positives > 0 && day.After(st.clock) {
			why := fmt.Sprintf("screening round %d on %s found %d positive(s)", out.ID, day, ns.Positives)
			vat := after(at, st.validFrom)
			next, err := advance(ctx, tx, st, vat, zoning.ZoneActive, func(next int) error {
				return copyVersion(ctx, tx, st, next, zoning.ZoneActive, zoning.ChangeExtend, day, why, vat, actorID(origin),
					"a new infection in the zone restarts its clock: "+why)
			})
			if err != nil {
				return err
			}
			result["version"], result["clock_start"] = next, day
		}
		rec.after = result
		return nil
	})
	if err != nil {
		return zoning.Screening{}, err
	}
	return out, nil
}

// Screenings lists a zone's rounds by date.
func (z Zones) Screenings(ctx context.Context, id int64) ([]zoning.Screening, error) {
	if _, err := zoneExists(ctx, z.S.Pool, id); err != nil {
		return nil, err
	}
	out, err := listScreenings(ctx, z.S.Pool, id)
	if err != nil {
		return nil, err
	}
	return out, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func listScreenings(ctx context.Context, q querier, id int64) ([]zoning.Screening, error) {
	rows, err := q.Query(ctx, query("screenings_list"), id)
	if err != nil {
		return nil, fmt.Errorf("list screenings of zone %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Screening, error) {
		var s zoning.Screening
		var d time.Time
		err := r.Scan(&s.ID, &s.ZoneID, &d, &s.Population, &s.Tested, &s.Negatives, &s.Positives, &s.RecordedBy, &s.RecordedAt,
			&s.ZoneVersion, &s.ZonePopulation, &s.PartialReason, &s.PopulationEstimated)
		s.RoundDate, s.Partial = zoning.AsDate(d), s.PartialReason != ""
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("list screenings of zone %d: %w", id, err)
	}
	if out == nil {
		out = []zoning.Screening{}
	}
	return out, nil
}

// Lifting evaluates the lifting rule of the zone's rule set today (see
// zoning.EvaluateLifting).
func (z Zones) Lifting(ctx context.Context, id int64) (zoning.LiftingStatus, error) {
	zn, err := z.Get(ctx, id)
	if err != nil {
		return zoning.LiftingStatus{}, err
	}
	rules, err := loadRuleSet(ctx, z.S.Pool, zn.Current.RuleSetID)
	if err != nil {
		return zoning.LiftingStatus{}, err
	}
	rounds, err := listScreenings(ctx, z.S.Pool, id)
	if err != nil {
		return zoning.LiftingStatus{}, err
	}
	today, err := z.countyToday(ctx, z.S.Pool, zn.CountyID)
	if err != nil {
		return zoning.LiftingStatus{}, err
	}
	return lifting(zn.ID, zn.CurrentVersion, zn.Status, rules, zn.Current.ClockStart, zn.Current.ClockReason, rounds, today), nil
}

func lifting(id int64, version int, status string, rules zoning.RuleSet, clock zoning.Date, clockReason string,
	rounds []zoning.Screening, today zoning.Date) zoning.LiftingStatus {
	ls := zoning.EvaluateLifting(rules, clock, rounds, today)
	ls.ZoneID, ls.Version, ls.ZoneStatus = id, version, status
	if ls.ClockReason == "" {
		ls.ClockReason = clockReason
	}
	if status != zoning.ZoneActive {
		ls.Eligible = false
		ls.Reasons = append([]string{fmt.Sprintf("zone %d is %s", id, status)}, ls.Reasons...)
	}
	return ls
}

// Lift lifts an active zone when the lifting rule allows it, or against the
// rule when an admin overrides with a written reason (change
// override_lift). The lifter must not be the author of the zone's first
// version (SPEC §6, second person). A refusal is a 409 naming the rules not
// met, and is audited. When the last active zone of the county is lifted,
// the county's low-risk period closes.
func (z Zones) Lift(ctx context.Context, origin zoning.Origin, id int64, req zoning.LiftRequest) (zoning.Zone, error) {
	if err := req.Validate(); err != nil {
		return zoning.Zone{}, err
	}
	origin.Reason = req.Reason
	rec := &auditRecord{action: "zone.lift", entity: "zone", entityID: strconv.FormatInt(id, 10)}
	var out zoning.Zone
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		st, err := lockZone(ctx, tx, id, true)
		if err != nil {
			return err
		}
		rec.before = st.ref()
		rec.after = map[string]any{"override": req.Override}
		switch st.status {
		case zoning.ZoneLifted:
			return zoning.Errorf(zoning.ErrConflict, "zone %d is already lifted (version %d)", st.id, st.version)
		case zoning.ZoneSuperseded:
			return zoning.Errorf(zoning.ErrConflict, "zone %d was superseded by a split or merge (version %d): lift the zones that replaced it", st.id, st.version)
		}
		if req.Version != 0 && req.Version != st.version {
			return &zoning.StaleVersionError{ZoneID: st.id, Given: req.Version, Current: st.version, Status: st.status}
		}
		if err := secondPerson(origin, st.designatedBy, fmt.Sprintf("lift zone %d", st.id), "you designated it"); err != nil {
			return err
		}
		rules, err := loadRuleSet(ctx, tx, st.ruleSetID)
		if err != nil {
			return err
		}
		rounds, err := listScreenings(ctx, tx, st.id)
		if err != nil {
			return err
		}
		today, err := z.countyToday(ctx, tx, st.county)
		if err != nil {
			return err
		}
		ls := lifting(st.id, st.version, st.status, rules, st.clock, st.clockReason, rounds, today)
		attempt := map[string]any{"override": req.Override, "eligible": ls.Eligible, "reasons": ls.Reasons,
			"last_infection": ls.LastInfection, "earliest_lifting": ls.EarliestLifting}
		rec.after = attempt
		change := zoning.ChangeLift
		if !ls.Eligible {
			why := strings.Join(ls.Reasons, "; ")
			if !req.Override {
				return zoning.Errorf(zoning.ErrConflict, "zone %d is not eligible for lifting: %s", st.id, why)
			}
			if !origin.Actor.Is(zoning.RoleAdmin) {
				return zoning.Errorf(zoning.ErrForbidden, "only an admin may lift zone %d against the lifting rule; it is not eligible: %s", st.id, why)
			}
			change = zoning.ChangeOverrideLift
		}
		at := after(z.now(), st.validFrom)
		next, err := advance(ctx, tx, st, at, zoning.ZoneLifted, func(next int) error {
			return copyVersion(ctx, tx, st, next, zoning.ZoneLifted, change, st.clock, st.clockReason, at, actorID(origin), req.Reason)
		})
		if err != nil {
			return err
		}
		if err := closeLowRisk(ctx, tx, st.county, at, st.id); err != nil {
			return err
		}
		attempt["version"], attempt["change"] = next, change
		out, err = getZone(ctx, tx, id)
		return err
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return out, nil
}

// CountyStatus is the zoning state of a county: its active zones and its
// low-risk periods.
func (z Zones) CountyStatus(ctx context.Context, id int64) (zoning.CountyStatus, error) {
	cs := zoning.CountyStatus{CountyID: id, ActiveZones: []zoning.ZoneSummary{}, LowRiskPeriods: []zoning.LowRiskPeriod{}}
	err := z.S.Pool.QueryRow(ctx, `SELECT a.name, coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default))
		FROM admin_areas a WHERE a.id = $1 AND a.level = 'county'`, id).Scan(&cs.Name, &cs.RuleSetID)
	if errors.Is(err, pgx.ErrNoRows) {
		return cs, zoning.Errorf(zoning.ErrNotFound, "county %d not found", id)
	}
	if err != nil {
		return cs, fmt.Errorf("load county %d: %w", id, err)
	}
	rows, err := z.S.Pool.Query(ctx, `SELECT z.id, v.version, v.name, v.level, v.population, v.staff_required, v.clock_start, v.clock_start + r.clean_days
		FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		JOIN rule_sets r ON r.id = v.rule_set_id
		WHERE z.county_id = $1 AND z.status = 'active'
		ORDER BY z.id`, id)
	if err != nil {
		return cs, fmt.Errorf("active zones of county %d: %w", id, err)
	}
	cs.ActiveZones, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.ZoneSummary, error) {
		var s zoning.ZoneSummary
		var clock, earliest time.Time
		err := r.Scan(&s.ID, &s.Version, &s.Name, &s.Level, &s.Population, &s.StaffRequired, &clock, &earliest)
		s.ClockStart, s.EarliestLifting = zoning.AsDate(clock), zoning.AsDate(earliest)
		return s, err
	})
	if err != nil {
		return cs, fmt.Errorf("active zones of county %d: %w", id, err)
	}
	if cs.ActiveZones == nil {
		cs.ActiveZones = []zoning.ZoneSummary{}
	}
	for _, s := range cs.ActiveZones {
		cs.ActivePopulation += s.Population
	}
	rows, err = z.S.Pool.Query(ctx, `SELECT opened_at, closed_at, opened_by_zone, closed_by_zone
		FROM county_low_risk WHERE county_id = $1 ORDER BY opened_at`, id)
	if err != nil {
		return cs, fmt.Errorf("low-risk periods of county %d: %w", id, err)
	}
	periods, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.LowRiskPeriod, error) {
		var p zoning.LowRiskPeriod
		return p, r.Scan(&p.OpenedAt, &p.ClosedAt, &p.OpenedByZone, &p.ClosedByZone)
	})
	if err != nil {
		return cs, fmt.Errorf("low-risk periods of county %d: %w", id, err)
	}
	if periods != nil {
		cs.LowRiskPeriods = periods
	}
	for i := range cs.LowRiskPeriods {
		if cs.LowRiskPeriods[i].ClosedAt == nil {
			p := cs.LowRiskPeriods[i]
			cs.LowRisk = &p
		}
	}
	cs.State = zoning.CountyNormalized
	if len(cs.ActiveZones) > 0 {
		cs.State = zoning.CountyZoned
	}
	return cs, nil
}

func openLowRisk(ctx context.Context, tx pgx.Tx, county int64, at time.Time, zoneID int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO county_low_risk (county_id, opened_at, opened_by_zone)
		SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM county_low_risk WHERE county_id = $1 AND closed_at IS NULL)`,
		county, at, zoneID); err != nil {
		return fmt.Errorf("open the low-risk period of county %d: %w", county, err)
	}
	return nil
}

// closeLowRisk ends the county's low-risk period when no active zone is left.
func closeLowRisk(ctx context.Context, tx pgx.Tx, county int64, at time.Time, zoneID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE county_low_risk
		SET closed_at = greatest($2::timestamptz, opened_at + interval '1 microsecond'), closed_by_zone = $3
		WHERE county_id = $1 AND closed_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM zones WHERE county_id = $1 AND status = 'active')`, county, at, zoneID); err != nil {
		return fmt.Errorf("close the low-risk period of county %d: %w", county, err)
	}
	return nil
}

// extendZonesForCases moves the clock of every active zone that holds the
// residence of one of the given cases, when the case counts (no exclusion)
// and was reported after the zone's clock (SPEC §2 "New cases during
// lockdown"): a new version with change extend whose clock_reason names the
// case and its report date. It runs inside the transaction that writes the
// cases (Cases.Create, Cases.Update) and commits with it. A clock never
// moves back: excluding a case later, or moving its report date earlier,
// leaves the zone's versions as they are.
func extendZonesForCases(ctx context.Context, tx pgx.Tx, origin zoning.Origin, caseIDs []int64, now time.Time) error {
	if len(caseIDs) == 0 {
		return nil
	}
	type hit struct {
		zone, caseID int64
		report       time.Time
	}
	find := func(zones []int64) ([]hit, error) {
		var only any // NULL: any zone
		if zones != nil {
			only = zones
		}
		rows, err := tx.Query(ctx, query("zone_extend_cases"), caseIDs, only)
		if err != nil {
			return nil, fmt.Errorf("zones of new cases: %w", err)
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (hit, error) {
			var h hit
			return h, r.Scan(&h.zone, &h.caseID, &h.report)
		})
	}
	hits, err := find(nil)
	if err != nil || len(hits) == 0 {
		return err
	}
	var zones []int64
	for _, h := range hits {
		if !slices.Contains(zones, h.zone) {
			zones = append(zones, h.zone)
		}
	}
	// Lock the zones in id order (as every writer does), then read again:
	// another transaction may have changed them meanwhile.
	if _, err := tx.Exec(ctx, `SELECT id FROM zones WHERE id = ANY ($1::bigint[]) ORDER BY id FOR UPDATE`, zones); err != nil {
		return fmt.Errorf("lock zones of new cases: %w", err)
	}
	if hits, err = find(zones); err != nil {
		return err
	}
	at := now.Truncate(time.Microsecond)
	extended := false
	seen := map[int64]bool{}
	for _, h := range hits {
		if seen[h.zone] {
			continue // the latest case of the zone came first
		}
		seen[h.zone] = true
		st, err := lockZone(ctx, tx, h.zone, false)
		if err != nil {
			return err
		}
		clock, why, moved := zoning.ExtendClock(st.clock, h.caseID, zoning.AsDate(h.report))
		if !moved {
			continue
		}
		vat := after(at, st.validFrom)
		next, err := advance(ctx, tx, st, vat, zoning.ZoneActive, func(next int) error {
			return copyVersion(ctx, tx, st, next, zoning.ZoneActive, zoning.ChangeExtend, clock, why, vat, actorID(origin),
				"a new counted infection in the zone restarts its clock: "+why)
		})
		if err != nil {
			return err
		}
		o := origin
		o.Reason = why
		if err := zoningAudit(ctx, tx, o, "zone.extend", "zone", strconv.FormatInt(st.id, 10), st.ref(),
			map[string]any{"zone_id": st.id, "version": next, "clock_start": clock, "case_id": h.caseID}); err != nil {
			return err
		}
		extended = true
	}
	if extended {
		return bumpLayers(ctx, tx, "zones", "proposals")
	}
	return nil
}
