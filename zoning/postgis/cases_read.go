package postgis

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// caseColumns reads a case; dates are written out with to_char, so that the
// session's DateStyle never changes them.
const caseColumns = `c.id, c.case_no, c.county_id, c.kind, to_char(c.report_date, 'YYYY-MM-DD'), coalesce(to_char(c.onset_date, 'YYYY-MM-DD'), ''),
	c.residence_unit_id, c.residence_building_id, c.residence_address, ST_X(c.residence_point), ST_Y(c.residence_point),
	c.residence_snap_m, c.source_known, c.h3_r11, c.exclusion_category, c.exclusion_assessment, c.excluded_by,
	c.excluded_at, c.created_at, c.updated_at`

func scanCase(row pgx.Row) (zoning.Case, error) {
	var c zoning.Case
	var h3c *int64
	var cat, assess *string
	err := row.Scan(&c.ID, &c.CaseNo, &c.CountyID, &c.Kind, &c.ReportDate, &c.OnsetDate, &c.ResidenceUnitID,
		&c.ResidenceBuildingID, &c.ResidenceAddress, &c.ResidenceLon, &c.ResidenceLat, &c.SnapDistanceM, &c.SourceKnown,
		&h3c, &cat, &assess, &c.ExcludedBy, &c.ExcludedAt, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, err
	}
	c.H3Cell = cellString(h3c)
	if cat != nil {
		c.Exclusion = &zoning.Exclusion{Category: *cat, Assessment: deref(assess)}
	}
	return c, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Get returns one case.
func (cs Cases) Get(ctx context.Context, id int64) (zoning.Case, error) {
	c, err := scanCase(cs.S.Pool.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases c WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, zoning.Errorf(zoning.ErrNotFound, "case %d not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("load case %d: %w", id, err)
	}
	return c, nil
}

// CaseFilter selects cases to list.
type CaseFilter struct {
	CountyID int64
	From, To string // report dates, inclusive; empty = open
	AfterID  int64  // keyset paging
	Limit    int
}

// List returns cases by id order.
func (cs Cases) List(ctx context.Context, f CaseFilter) ([]zoning.Case, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	var from, to any
	if f.From != "" {
		from = f.From
	}
	if f.To != "" {
		to = f.To
	}
	rows, err := cs.S.Pool.Query(ctx, `SELECT `+caseColumns+` FROM cases c
		WHERE ($1 = 0 OR c.county_id = $1) AND ($2::date IS NULL OR c.report_date >= $2) AND ($3::date IS NULL OR c.report_date <= $3)
		  AND c.id > $4
		ORDER BY c.id LIMIT $5`, f.CountyID, from, to, f.AfterID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Case, error) { return scanCase(r) })
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// Traces lists a case's traces.
func (cs Cases) Traces(ctx context.Context, caseID int64) ([]zoning.Trace, error) {
	if _, err := cs.Get(ctx, caseID); err != nil {
		return nil, err
	}
	rows, err := cs.S.Pool.Query(ctx, `SELECT id, case_id, place_id, building_id, ST_X(point), ST_Y(point), activity,
		starts_at, ends_at, enclosed, h3_r11, note FROM traces WHERE case_id = $1 ORDER BY starts_at, id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("list traces: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Trace, error) {
		var t zoning.Trace
		var h3c *int64
		err := r.Scan(&t.ID, &t.CaseID, &t.PlaceID, &t.BuildingID, &t.Lon, &t.Lat, &t.Activity, &t.StartsAt, &t.EndsAt, &t.Enclosed, &h3c, &t.Note)
		t.H3Cell = cellString(h3c)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("list traces: %w", err)
	}
	return out, nil
}
