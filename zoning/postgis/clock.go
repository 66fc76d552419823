package postgis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// CountyLocation is the calendar of county id (admin_areas.time_zone,
// Asia/Shanghai unless set): the days of its zone clocks are days of this
// zone, never UTC days. An unknown county gets the default calendar; the
// caller refuses the county itself.
func (s *Store) CountyLocation(ctx context.Context, county int64) (*time.Location, error) {
	return countyLocation(ctx, s.Pool, county)
}

func countyLocation(ctx context.Context, q querier, county int64) (*time.Location, error) {
	var name string
	err := q.QueryRow(ctx, `SELECT time_zone FROM admin_areas WHERE id = $1`, county).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.ChinaTime(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("time zone of county %d: %w", county, err)
	}
	loc, err := zoning.LoadTimeZone(name)
	if err != nil {
		// A stored name that does not load is the operator's fault, not
		// the caller's: a server error, not a 400.
		return nil, fmt.Errorf("time zone of county %d: %s", county, zoning.Message(err))
	}
	return loc, nil
}

// countyLoc is the calendar of the zones of county: Loc when set, else the
// county's own.
func (z Zones) countyLoc(ctx context.Context, q querier, county int64) (*time.Location, error) {
	if z.Loc != nil {
		return z.Loc, nil
	}
	return countyLocation(ctx, q, county)
}

// countyToday is the current day in county's calendar.
func (z Zones) countyToday(ctx context.Context, q querier, county int64) (zoning.Date, error) {
	loc, err := z.countyLoc(ctx, q, county)
	if err != nil {
		return zoning.Date{}, err
	}
	return zoning.DateOf(z.now(), loc), nil
}

// countyToday is the current day in county's calendar (Loc when set).
func (cs Cases) countyToday(ctx context.Context, q querier, county int64) (zoning.Date, error) {
	loc := cs.Loc
	if loc == nil {
		var err error
		if loc, err = countyLocation(ctx, q, county); err != nil {
			return zoning.Date{}, err
		}
	}
	return zoning.DateOf(cs.now(), loc), nil
}

// memberClock recomputes L for members m of a zone of county designated on
// designated (zoning.RecomputeClock): the latest counted case among the
// members and the latest positive screening round of zone lineage or of
// the zones it came from.
func memberClock(ctx context.Context, tx pgx.Tx, county, lineage int64, designated zoning.Date, m members) (zoning.Date, string, error) {
	var events []zoning.ClockEvent
	var caseID int64
	var report time.Time
	err := tx.QueryRow(ctx, query("zone_clock_cases"), county, nonNil(m.buildings), nonNil(m.units)).Scan(&caseID, &report)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return zoning.Date{}, "", fmt.Errorf("last counted case of the members: %w", err)
	default:
		d := zoning.AsDate(report)
		events = append(events, zoning.ClockEvent{Day: d,
			Why: fmt.Sprintf("the last counted case among its members, case %d, was reported on %s", caseID, d)})
	}
	var roundID int64
	var round time.Time
	var positives int
	err = tx.QueryRow(ctx, query("zone_clock_screenings"), lineage).Scan(&roundID, &round, &positives)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return zoning.Date{}, "", fmt.Errorf("last positive screening of zone %d: %w", lineage, err)
	default:
		d := zoning.AsDate(round)
		events = append(events, zoning.ClockEvent{Day: d,
			Why: fmt.Sprintf("screening round %d on %s found %d positive(s)", roundID, d, positives)})
	}
	l, why := zoning.RecomputeClock(designated, events...)
	return l, why, nil
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
