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

// Zones is the store of the zone lifecycle (SPEC §4): approving and
// rejecting proposals, editing, splitting, merging, extending and lifting
// zones, screening rounds, history and the map as of any instant.
//
// Every change writes a new immutable zone version in one transaction with
// its audit entry and a bump of the zones and proposals layers (NOTIFY
// riskzone_layers). Writes that change a zone lock its row (FOR UPDATE) and
// check the version the caller edits in the same transaction, so no update
// is lost: a stale version is refused with a zoning.StaleVersionError.
// Writes that change which buildings are zoned also hold a per-county
// advisory lock, so that a building or unit is never in two active zones
// and the county's low-risk periods open and close exactly once. Refused
// attempts (conflicts, the second-person rule, lifts the rule does not
// allow) are audited in a transaction of their own, since the main one
// rolls back.
type Zones struct {
	S *Store
	// Now is the clock of version times; nil means time.Now.
	Now func() time.Time
	// Loc is the calendar of zone clocks (report, designation and screening
	// days); nil means each county's own (admin_areas.time_zone,
	// Asia/Shanghai by default; see clock.go).
	Loc *time.Location
	// afterCommit, set by tests, runs right after a write commits and before
	// it answers: another writer's commit there must not change the answer.
	afterCommit func()
}

func (z Zones) now() time.Time {
	t := time.Now()
	if z.Now != nil {
		t = z.Now()
	}
	// The database keeps microseconds; compare times at that precision.
	return t.Truncate(time.Microsecond)
}

// versionSelect reads zone versions as zoning.ZoneVersion (see scanVersion).
// population_estimated comes from the members' population_derived flags.
const versionSelect = `SELECT v.zone_id, z.county_id, v.version, v.level, v.status, v.change, v.name,
	ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), 7), v.building_ids, v.unit_ids, v.population, v.staff_required, v.area_m2,
	v.rule_set_id, v.clock_start, v.clock_reason, v.clock_start + r.clean_days, v.valid_from, v.valid_to,
	v.author_id, coalesce(u.username, ''), v.reason, v.published_notice_id,
	EXISTS (SELECT 1 FROM buildings b WHERE b.id = ANY (v.building_ids) AND b.population_derived)
	OR EXISTS (SELECT 1 FROM units un WHERE un.id = ANY (v.unit_ids) AND un.population_derived)
FROM zone_versions v
JOIN zones z ON z.id = v.zone_id
JOIN rule_sets r ON r.id = v.rule_set_id
LEFT JOIN users u ON u.id = v.author_id
`

func scanVersion(row pgx.Row) (zoning.ZoneVersion, error) {
	var v zoning.ZoneVersion
	var geo string
	var clock, earliest time.Time
	err := row.Scan(&v.ZoneID, &v.CountyID, &v.Version, &v.Level, &v.Status, &v.Change, &v.Name, &geo, &v.BuildingIDs,
		&v.UnitIDs, &v.Population, &v.StaffRequired, &v.AreaM2, &v.RuleSetID, &clock, &v.ClockReason, &earliest,
		&v.ValidFrom, &v.ValidTo, &v.AuthorID, &v.Author, &v.Reason, &v.PublishedNoticeID, &v.PopulationEstimated)
	if err != nil {
		return v, err
	}
	v.Geometry = json.RawMessage(geo)
	v.ClockStart, v.EarliestLifting = zoning.AsDate(clock), zoning.AsDate(earliest)
	if v.BuildingIDs == nil {
		v.BuildingIDs = []int64{}
	}
	if v.UnitIDs == nil {
		v.UnitIDs = []int64{}
	}
	return v, nil
}

func collectVersions(rows pgx.Rows, err error) ([]zoning.ZoneVersion, error) {
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.ZoneVersion, error) { return scanVersion(r) })
	if out == nil {
		out = []zoning.ZoneVersion{}
	}
	return out, err
}

// Get returns a zone with its current version.
func (z Zones) Get(ctx context.Context, id int64) (zoning.Zone, error) {
	return getZone(ctx, z.S.Pool, id)
}

// getZone reads a zone with its current version through q: a write reads
// the zone it made with its own transaction, before commit, so its answer
// (version, ETag) is what it wrote even when another writer commits right
// after it.
func getZone(ctx context.Context, q querier, id int64) (zoning.Zone, error) {
	var zn zoning.Zone
	err := q.QueryRow(ctx, `SELECT id, county_id, proposal_id, parent_zone_ids, current_version, status, created_at
		FROM zones WHERE id = $1`, id).Scan(&zn.ID, &zn.CountyID, &zn.ProposalID, &zn.ParentZoneIDs, &zn.CurrentVersion, &zn.Status, &zn.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return zn, zoning.Errorf(zoning.ErrNotFound, "zone %d not found", id)
	}
	if err != nil {
		return zn, fmt.Errorf("load zone %d: %w", id, err)
	}
	if zn.ParentZoneIDs == nil {
		zn.ParentZoneIDs = []int64{}
	}
	if zn.Current, err = zoneVersion(ctx, q, id, zn.CurrentVersion); err != nil {
		return zn, err
	}
	return zn, nil
}

// Version returns one version of a zone.
func (z Zones) Version(ctx context.Context, id int64, version int) (zoning.ZoneVersion, error) {
	return zoneVersion(ctx, z.S.Pool, id, version)
}

func zoneVersion(ctx context.Context, q querier, id int64, version int) (zoning.ZoneVersion, error) {
	v, err := scanVersion(q.QueryRow(ctx, versionSelect+`WHERE v.zone_id = $1 AND v.version = $2`, id, version))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := zoneExists(ctx, q, id); gerr != nil {
			return v, gerr
		}
		return v, zoning.Errorf(zoning.ErrNotFound, "zone %d has no version %d", id, version)
	}
	if err != nil {
		return v, fmt.Errorf("load version %d of zone %d: %w", version, id, err)
	}
	return v, nil
}

func zoneExists(ctx context.Context, q querier, id int64) (int, error) {
	var cur int
	err := q.QueryRow(ctx, `SELECT current_version FROM zones WHERE id = $1`, id).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, zoning.Errorf(zoning.ErrNotFound, "zone %d not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("look up zone %d: %w", id, err)
	}
	return cur, nil
}

// Versions returns every version of a zone, oldest first.
func (z Zones) Versions(ctx context.Context, id int64) ([]zoning.ZoneVersion, error) {
	if _, err := zoneExists(ctx, z.S.Pool, id); err != nil {
		return nil, err
	}
	out, err := collectVersions(z.S.Pool.Query(ctx, versionSelect+`WHERE v.zone_id = $1 ORDER BY v.version`, id))
	if err != nil {
		return nil, fmt.Errorf("list versions of zone %d: %w", id, err)
	}
	return out, nil
}

// List returns zone versions for a map: with f.At set, the versions valid at
// that instant whose status is active (the map as it stood then); otherwise
// the current versions with status f.Status (default active).
func (z Zones) List(ctx context.Context, f zoning.ZoneFilter) ([]zoning.ZoneVersion, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var rows pgx.Rows
	var err error
	if !f.At.IsZero() {
		rows, err = z.S.Pool.Query(ctx, versionSelect+`
			WHERE tstzrange(v.valid_from, v.valid_to) @> $1::timestamptz AND v.status = 'active'
			  AND ($2::bigint = 0 OR z.county_id = $2)
			ORDER BY v.zone_id`, f.At, f.CountyID)
	} else {
		status := f.Status
		if status == "" {
			status = zoning.ZoneActive
		}
		rows, err = z.S.Pool.Query(ctx, versionSelect+`
			WHERE v.version = z.current_version AND ($1 = 'all' OR z.status = $1)
			  AND ($2::bigint = 0 OR z.county_id = $2)
			ORDER BY v.zone_id`, status, f.CountyID)
	}
	out, err := collectVersions(rows, err)
	if err != nil {
		return nil, fmt.Errorf("list zones: %w", err)
	}
	return out, nil
}

// Diff compares two versions of a zone: members, population and area added
// and removed.
func (z Zones) Diff(ctx context.Context, id int64, from, to int) (zoning.Diff, error) {
	a, err := z.Version(ctx, id, from)
	if err != nil {
		return zoning.Diff{}, err
	}
	b, err := z.Version(ctx, id, to)
	if err != nil {
		return zoning.Diff{}, err
	}
	d := zoning.DiffVersions(a, b)
	if err := z.S.Pool.QueryRow(ctx, query("zone_diff_area"), id, from, to).Scan(&d.AreaAddedM2, &d.AreaRemovedM2); err != nil {
		return d, fmt.Errorf("diff areas of zone %d: %w", id, err)
	}
	return d, nil
}

// ---- proposals -------------------------------------------------------------

// ---- edits -----------------------------------------------------------------

// ---- screening and lifting -------------------------------------------------

// ---- counties --------------------------------------------------------------

// ---- new cases -------------------------------------------------------------

// ---- the pieces ------------------------------------------------------------
