package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uber/h3-go/v4"

	"github.com/riskzone/riskzone/zoning"
)

// SnapLimitM is how far a residence point may be from the nearest building
// when no building contains it.
const SnapLimitM = 50.0

// Cases stores cases and traces (restricted health data).
type Cases struct {
	S *Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Loc is the calendar of report dates ("today"); nil means each
	// county's own (admin_areas.time_zone, Asia/Shanghai by default).
	Loc *time.Location
}

func (cs Cases) now() time.Time {
	if cs.Now != nil {
		return cs.Now()
	}
	return time.Now()
}

// resolved is a residence resolved to the database's geography.
type resolved struct {
	unitID, buildingID *int64
	point              *[2]float64 // lon, lat as given
	snapM              *float64
	lon, lat           float64 // where the residence is indexed (building interior point, or the point)
}

// cell returns the H3 resolution-11 cell of a location.
func cell(lon, lat float64) int64 {
	return int64(h3.LatLngToCell(h3.NewLatLng(lat, lon), 11))
}

func cellString(c *int64) string {
	if c == nil || *c == 0 {
		return ""
	}
	return h3.Cell(*c).String()
}

// resolveResidence finds the unit/building of a residence inside county.
func resolveResidence(ctx context.Context, tx pgx.Tx, county int64, r zoning.Residence) (resolved, error) {
	var out resolved
	switch {
	case r.UnitID != nil:
		var b int64
		err := tx.QueryRow(ctx, `SELECT building_id FROM units WHERE id = $1`, *r.UnitID).Scan(&b)
		if errors.Is(err, pgx.ErrNoRows) {
			return out, zoning.Errorf(zoning.ErrInvalid, "residence: unknown unit_id %d", *r.UnitID)
		} else if err != nil {
			return out, fmt.Errorf("look up unit %d: %w", *r.UnitID, err)
		}
		if r.BuildingID != nil && *r.BuildingID != b {
			return out, zoning.Errorf(zoning.ErrInvalid, "residence: unit %d is in building %d, not %d", *r.UnitID, b, *r.BuildingID)
		}
		out.unitID, out.buildingID = r.UnitID, &b
	case r.BuildingID != nil:
		out.buildingID = r.BuildingID
	case r.Address != "":
		pa, err := zoning.ParseAddress(r.Address)
		if err != nil {
			return out, err
		}
		// The building whose compound (or street) name ends the address prefix
		// and whose number matches; the longest such name wins, a tie is ambiguous.
		rows, err := tx.Query(ctx, `
			SELECT b.id, length(greatest(b.addr_compound, b.addr_street)) AS l
			FROM buildings b
			WHERE b.addr_number = $2
			  AND ((b.addr_compound <> '' AND right($1, length(b.addr_compound)) = b.addr_compound)
			    OR (b.addr_compound = '' AND b.addr_street <> '' AND right($1, length(b.addr_street)) = b.addr_street))
			  AND (b.county_id = $3 OR b.county_id IS NULL)
			ORDER BY l DESC, b.id LIMIT 2`, pa.Prefix, pa.Number, county)
		if err != nil {
			return out, fmt.Errorf("look up address: %w", err)
		}
		type hit struct {
			id int64
			l  int
		}
		hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (hit, error) {
			var h hit
			return h, r.Scan(&h.id, &h.l)
		})
		if err != nil {
			return out, fmt.Errorf("look up address: %w", err)
		}
		if len(hits) == 0 {
			return out, zoning.Errorf(zoning.ErrInvalid, "residence: no building at address %q", r.Address)
		}
		if len(hits) > 1 && hits[0].l == hits[1].l {
			return out, zoning.Errorf(zoning.ErrInvalid, "residence: address %q matches several buildings; give the building_id", r.Address)
		}
		out.buildingID = &hits[0].id
		if pa.Unit > 0 {
			var u int64
			err := tx.QueryRow(ctx, `SELECT id FROM units WHERE building_id = $1 AND number = $2`, hits[0].id, pa.Unit).Scan(&u)
			if errors.Is(err, pgx.ErrNoRows) {
				return out, zoning.Errorf(zoning.ErrInvalid, "residence: building %d has no unit %d", hits[0].id, pa.Unit)
			} else if err != nil {
				return out, fmt.Errorf("look up unit: %w", err)
			}
			out.unitID = &u
		}
	case r.Lon != nil:
		out.point = &[2]float64{*r.Lon, *r.Lat}
		var b int64
		var d float64
		err := tx.QueryRow(ctx, `
			WITH p AS (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS g)
			SELECT b.id, ST_Distance(b.geom::geography, p.g::geography)
			FROM buildings b, p
			WHERE ST_DWithin(b.geom::geography, p.g::geography, $3)
			ORDER BY ST_Distance(b.geom::geography, p.g::geography), b.id LIMIT 1`, *r.Lon, *r.Lat, SnapLimitM).Scan(&b, &d)
		if errors.Is(err, pgx.ErrNoRows) {
			return out, zoning.Errorf(zoning.ErrInvalid, "residence: no building contains (%g, %g) or lies within %.0f m of it", *r.Lon, *r.Lat, SnapLimitM)
		} else if err != nil {
			return out, fmt.Errorf("snap residence point: %w", err)
		}
		out.buildingID, out.snapM = &b, &d
	}
	var inCounty bool
	err := tx.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom)),
			EXISTS (SELECT 1 FROM admin_areas a WHERE a.id = $2 AND ST_Intersects(a.geom, b.geom))
		FROM buildings b WHERE b.id = $1`, *out.buildingID, county).Scan(&out.lon, &out.lat, &inCounty)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, zoning.Errorf(zoning.ErrInvalid, "residence: unknown building_id %d", *out.buildingID)
	} else if err != nil {
		return out, fmt.Errorf("look up building %d: %w", *out.buildingID, err)
	}
	if !inCounty {
		return out, zoning.Errorf(zoning.ErrInvalid, "residence: building %d is not in county %d", *out.buildingID, county)
	}
	return out, nil
}

func checkCounty(ctx context.Context, tx pgx.Tx, county int64) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM admin_areas WHERE id = $1 AND level = 'county')`, county).Scan(&ok); err != nil {
		return fmt.Errorf("look up county %d: %w", county, err)
	}
	if !ok {
		return zoning.Errorf(zoning.ErrInvalid, "unknown county_id %d", county)
	}
	return nil
}

// Create registers cases and their traces in one transaction: all or none.
func (cs Cases) Create(ctx context.Context, origin zoning.Origin, cases []zoning.NewCase) ([]int64, error) {
	// A report dated today in the county's calendar is not in the future,
	// whatever the UTC day.
	today := map[int64]zoning.Date{}
	for i, c := range cases {
		d, ok := today[c.CountyID]
		if !ok {
			var err error
			if d, err = cs.countyToday(ctx, cs.S.Pool, c.CountyID); err != nil {
				return nil, err
			}
			today[c.CountyID] = d
		}
		if err := c.Validate(d); err != nil {
			return nil, withRow(len(cases), i, err)
		}
	}
	tx, err := cs.S.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	ids := make([]int64, 0, len(cases))
	for i, c := range cases {
		id, err := cs.insertCase(ctx, tx, origin, c)
		if err != nil {
			return nil, withRow(len(cases), i, err)
		}
		for j, t := range c.Traces {
			if _, err := insertTrace(ctx, tx, id, t); err != nil {
				return nil, withRow(len(cases), i, fmt.Errorf("trace %d: %w", j+1, err))
			}
		}
		ids = append(ids, id)
	}
	if err := extendZonesForCases(ctx, tx, origin, ids, cs.now()); err != nil {
		return nil, err
	}
	if err := zoningAudit(ctx, tx, origin, "case.create", "case", idList(ids), nil, map[string]any{"count": len(ids)}); err != nil {
		return nil, err
	}
	if err := bumpLayers(ctx, tx, "cases", "spread"); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("commit cases: %w", err)
	}
	return ids, nil
}

func withRow(n, i int, err error) error {
	if n <= 1 {
		return err
	}
	if k := zoning.Kind(err); k != nil {
		return zoning.Errorf(k, "case %d: %s", i+1, zoning.Message(err))
	}
	return fmt.Errorf("case %d: %w", i+1, err)
}

func idList(ids []int64) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += strconv.FormatInt(id, 10)
		if i == 20 && len(ids) > 21 {
			return s + ",…"
		}
	}
	return s
}

func (cs Cases) insertCase(ctx context.Context, tx pgx.Tx, origin zoning.Origin, c zoning.NewCase) (int64, error) {
	if err := checkCounty(ctx, tx, c.CountyID); err != nil {
		return 0, err
	}
	res, err := resolveResidence(ctx, tx, c.CountyID, c.Residence)
	if err != nil {
		return 0, err
	}
	known := true
	if c.SourceKnown != nil {
		known = *c.SourceKnown
	}
	var excl, assess any
	var exBy *int64
	var exAt *time.Time
	if c.Exclusion != nil {
		excl, assess = c.Exclusion.Category, c.Exclusion.Assessment
		exBy = actorID(origin)
		t := cs.now()
		exAt = &t
	}
	var onset any
	if c.OnsetDate != "" {
		onset = c.OnsetDate
	}
	var pointWKT any
	if res.point != nil {
		pointWKT = fmt.Sprintf("POINT(%.8f %.8f)", res.point[0], res.point[1])
	}
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO cases (case_no, county_id, kind, report_date, onset_date, residence_unit_id,
			residence_building_id, residence_point, residence_address, residence_snap_m, source_known, h3_r11,
			exclusion_category, exclusion_assessment, excluded_by, excluded_at, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, ST_GeomFromText($8, 4326), $9, $10, $11, $12, $13, $14, $15, $16, $17)
		RETURNING id`,
		c.CaseNo, c.CountyID, c.Kind, c.ReportDate, onset, res.unitID, res.buildingID, pointWKT, c.Residence.Address,
		res.snapM, known, cell(res.lon, res.lat), excl, assess, exBy, exAt, actorID(origin)).Scan(&id)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return 0, zoning.Errorf(zoning.ErrConflict, "case_no %s already exists in county %d", c.CaseNo, c.CountyID)
	}
	if err != nil {
		return 0, fmt.Errorf("insert case: %w", err)
	}
	return id, nil
}

func actorID(o zoning.Origin) *int64 {
	if o.Actor.UserID == 0 {
		return nil
	}
	id := o.Actor.UserID
	return &id
}

func zoningAudit(ctx context.Context, tx pgx.Tx, o zoning.Origin, action, entity, entityID string, before, after any) error {
	if err := WriteAudit(ctx, tx, zoning.AuditEntry{Actor: o.Actor, Action: action, Entity: entity, EntityID: entityID,
		Reason: o.Reason, Outcome: "ok", Before: before, After: after, RemoteAddr: o.RemoteAddr}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func bumpLayers(ctx context.Context, tx pgx.Tx, layers ...string) error {
	if _, err := tx.Exec(ctx, `UPDATE layer_versions SET version = version + 1, changed_at = now() WHERE layer = ANY ($1)`, layers); err != nil {
		return fmt.Errorf("bump layer versions: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, LayersChannel, fmt.Sprint(layers)); err != nil {
		return fmt.Errorf("notify layer change: %w", err)
	}
	return nil
}

func insertTrace(ctx context.Context, tx pgx.Tx, caseID int64, t zoning.NewTrace) (int64, error) {
	var building *int64
	var lon, lat float64
	switch {
	case t.PlaceID != nil:
		err := tx.QueryRow(ctx, `SELECT building_id, ST_X(geom), ST_Y(geom) FROM places WHERE id = $1`, *t.PlaceID).Scan(&building, &lon, &lat)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, zoning.Errorf(zoning.ErrInvalid, "unknown place_id %d", *t.PlaceID)
		} else if err != nil {
			return 0, fmt.Errorf("look up place %d: %w", *t.PlaceID, err)
		}
	case t.BuildingID != nil:
		building = t.BuildingID
		err := tx.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM buildings WHERE id = $1`, *t.BuildingID).Scan(&lon, &lat)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, zoning.Errorf(zoning.ErrInvalid, "unknown building_id %d", *t.BuildingID)
		} else if err != nil {
			return 0, fmt.Errorf("look up building %d: %w", *t.BuildingID, err)
		}
	default:
		lon, lat = *t.Lon, *t.Lat
		// The building the point is in, if any (a trace may be outdoors).
		var b int64
		err := tx.QueryRow(ctx, `SELECT id FROM buildings WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint($1, $2), 4326)) ORDER BY id LIMIT 1`, lon, lat).Scan(&b)
		if err == nil {
			building = &b
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return 0, fmt.Errorf("locate trace point: %w", err)
		}
	}
	var point any
	if t.Lon != nil {
		point = fmt.Sprintf("POINT(%.8f %.8f)", *t.Lon, *t.Lat)
	}
	activity := t.Activity
	if activity == "" {
		activity = "other"
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO traces (case_id, place_id, building_id, point, activity, starts_at, ends_at, enclosed, h3_r11, note)
		VALUES ($1, $2, $3, ST_GeomFromText($4, 4326), $5, $6, $7, $8, $9, $10) RETURNING id`,
		caseID, t.PlaceID, building, point, activity, t.StartsAt, t.EndsAt, t.Enclosed, cell(lon, lat), t.Note).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert trace: %w", err)
	}
	return id, nil
}

// AddTraces adds traces to a case.
func (cs Cases) AddTraces(ctx context.Context, origin zoning.Origin, caseID int64, traces []zoning.NewTrace) ([]int64, error) {
	if len(traces) == 0 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "no traces given")
	}
	for i, t := range traces {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("trace %d: %w", i+1, err)
		}
	}
	tx, err := cs.S.Pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := lockCase(ctx, tx, caseID); err != nil {
		return nil, err
	}
	var ids []int64
	for i, t := range traces {
		id, err := insertTrace(ctx, tx, caseID, t)
		if err != nil {
			return nil, fmt.Errorf("trace %d: %w", i+1, err)
		}
		ids = append(ids, id)
	}
	if err := zoningAudit(ctx, tx, origin, "trace.create", "case", strconv.FormatInt(caseID, 10), nil, map[string]any{"trace_ids": ids}); err != nil {
		return nil, err
	}
	if err := bumpLayers(ctx, tx, "cases", "spread"); err != nil {
		return nil, err
	}
	return ids, tx.Commit(ctx)
}

func lockCase(ctx context.Context, tx pgx.Tx, id int64) error {
	var x int64
	err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE id = $1 FOR UPDATE`, id).Scan(&x)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.Errorf(zoning.ErrNotFound, "case %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("lock case %d: %w", id, err)
	}
	return nil
}

// Update changes a case and audits before and after.
func (cs Cases) Update(ctx context.Context, origin zoning.Origin, id int64, u zoning.CaseUpdate) (zoning.Case, error) {
	var county int64
	if err := cs.S.Pool.QueryRow(ctx, `SELECT county_id FROM cases WHERE id = $1`, id).Scan(&county); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return zoning.Case{}, fmt.Errorf("look up case %d: %w", id, err)
	}
	today, err := cs.countyToday(ctx, cs.S.Pool, county)
	if err != nil {
		return zoning.Case{}, err
	}
	if err := u.Validate(today); err != nil {
		return zoning.Case{}, err
	}
	tx, err := cs.S.Pool.Begin(ctx)
	if err != nil {
		return zoning.Case{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if err := lockCase(ctx, tx, id); err != nil {
		return zoning.Case{}, err
	}
	before, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1`, id))
	if err != nil {
		return zoning.Case{}, fmt.Errorf("load case %d: %w", id, err)
	}
	if u.Kind != nil {
		if _, err := tx.Exec(ctx, `UPDATE cases SET kind = $2 WHERE id = $1`, id, *u.Kind); err != nil {
			return zoning.Case{}, fmt.Errorf("update kind: %w", err)
		}
	}
	if u.ReportDate != nil {
		if _, err := tx.Exec(ctx, `UPDATE cases SET report_date = $2 WHERE id = $1`, id, *u.ReportDate); err != nil {
			return zoning.Case{}, dateErr(err)
		}
	}
	if u.OnsetDate != nil {
		var onset any
		if *u.OnsetDate != "" {
			onset = *u.OnsetDate
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET onset_date = $2 WHERE id = $1`, id, onset); err != nil {
			return zoning.Case{}, dateErr(err)
		}
	}
	if u.SourceKnown != nil {
		if _, err := tx.Exec(ctx, `UPDATE cases SET source_known = $2 WHERE id = $1`, id, *u.SourceKnown); err != nil {
			return zoning.Case{}, fmt.Errorf("update source: %w", err)
		}
	}
	if u.Residence != nil {
		res, err := resolveResidence(ctx, tx, before.CountyID, *u.Residence)
		if err != nil {
			return zoning.Case{}, err
		}
		var pointWKT any
		if res.point != nil {
			pointWKT = fmt.Sprintf("POINT(%.8f %.8f)", res.point[0], res.point[1])
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET residence_unit_id = $2, residence_building_id = $3,
				residence_point = ST_GeomFromText($4, 4326), residence_address = $5, residence_snap_m = $6, h3_r11 = $7 WHERE id = $1`,
			id, res.unitID, res.buildingID, pointWKT, u.Residence.Address, res.snapM, cell(res.lon, res.lat)); err != nil {
			return zoning.Case{}, fmt.Errorf("update residence: %w", err)
		}
	}
	if u.Exclusion != nil {
		if _, err := tx.Exec(ctx, `UPDATE cases SET exclusion_category = $2, exclusion_assessment = $3, excluded_by = $4, excluded_at = $5 WHERE id = $1`,
			id, u.Exclusion.Category, u.Exclusion.Assessment, actorID(origin), cs.now()); err != nil {
			return zoning.Case{}, fmt.Errorf("update exclusion: %w", err)
		}
	}
	if u.ClearExclusion {
		if _, err := tx.Exec(ctx, `UPDATE cases SET exclusion_category = NULL, exclusion_assessment = NULL, excluded_by = NULL, excluded_at = NULL WHERE id = $1`, id); err != nil {
			return zoning.Case{}, fmt.Errorf("clear exclusion: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE cases SET updated_at = now() WHERE id = $1`, id); err != nil {
		return zoning.Case{}, fmt.Errorf("touch case: %w", err)
	}
	if u.ClearExclusion || u.ReportDate != nil || u.Residence != nil {
		if err := extendZonesForCases(ctx, tx, origin, []int64{id}, cs.now()); err != nil {
			return zoning.Case{}, err
		}
	}
	after, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1`, id))
	if err != nil {
		return zoning.Case{}, fmt.Errorf("reload case %d: %w", id, err)
	}
	origin.Reason = u.Reason
	if err := zoningAudit(ctx, tx, origin, "case.update", "case", strconv.FormatInt(id, 10), auditView(before), auditView(after)); err != nil {
		return zoning.Case{}, err
	}
	if err := bumpLayers(ctx, tx, "cases", "spread"); err != nil {
		return zoning.Case{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return zoning.Case{}, fmt.Errorf("commit case %d: %w", id, err)
	}
	return after, nil
}

// auditView is what the audit log keeps of a case change: references and
// status, not the residence address or location.
func auditView(c zoning.Case) map[string]any {
	m := map[string]any{"kind": c.Kind, "report_date": c.ReportDate, "source_known": c.SourceKnown,
		"residence_unit_id": c.ResidenceUnitID, "residence_building_id": c.ResidenceBuildingID}
	if c.Exclusion != nil {
		m["exclusion"] = c.Exclusion.Category
	}
	return m
}

func dateErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23514" {
		return zoning.Errorf(zoning.ErrInvalid, "onset_date must not be after report_date")
	}
	return fmt.Errorf("update dates: %w", err)
}
