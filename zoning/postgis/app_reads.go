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

// The expert app's reads (server/app_api.go serves them): the county
// picker, the review list of proposals, the engine runs, a proposal's
// boundary barriers, buildings as GeoJSON features and the building search.
// SQL in sql/app_*.sql.

// AppCounty is a county in the picker.
type AppCounty struct {
	ID     int64      `json:"id"`
	Name   string     `json:"name"`
	NameEn string     `json:"name_en"`
	BBox   [4]float64 `json:"bbox"`
}

// AppCounties lists the counties by name.
func (s *Store) AppCounties(ctx context.Context) ([]AppCounty, error) {
	rows, err := s.Pool.Query(ctx, query("app_counties"))
	if err != nil {
		return nil, fmt.Errorf("app counties: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppCounty, error) {
		var a AppCounty
		err := r.Scan(&a.ID, &a.Name, &a.NameEn, &a.BBox[0], &a.BBox[1], &a.BBox[2], &a.BBox[3])
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("app counties: %w", err)
	}
	return out, nil
}

// AppProposal is a proposal in the review list.
type AppProposal struct {
	ID               int64           `json:"id"`
	RunID            int64           `json:"run_id"`
	CountyID         int64           `json:"county_id"`
	Name             string          `json:"name"`
	Level            string          `json:"level"`
	Status           string          `json:"status"`
	Population       int             `json:"population"`
	StaffRequired    int             `json:"staff_required"`
	AreaM2           float64         `json:"area_m2"`
	Buildings        int             `json:"buildings"`
	BuildingIDs      []int64         `json:"building_ids"`
	UnitIDs          []int64         `json:"unit_ids"`
	BoundaryBarriers json.RawMessage `json:"boundary_barriers"`
	Rationale        json.RawMessage `json:"rationale"`
	Geometry         json.RawMessage `json:"geometry"`
	CreatedAt        time.Time       `json:"created_at"`
	CreatedBy        string          `json:"created_by"`
	ZoneID           *int64          `json:"zone_id"`
	DecisionReason   string          `json:"decision_reason"`
	// PopulationEstimated: the population holds estimates (shown "约/est.").
	PopulationEstimated bool `json:"population_estimated"`
	// Workers is the estimated day-time population counted for staff.
	Workers int `json:"workers"`
	// RationaleText is the rationale as sentences in zh and en.
	RationaleText zoning.RationaleText `json:"rationale_text"`
	SupersededBy  []int64              `json:"superseded_by"`
}

// AppProposals lists the proposals of county (0: any) or run (0: any)
// with status ("all": any), newest run first, at most 200.
func (s *Store) AppProposals(ctx context.Context, county, run int64, status string) ([]AppProposal, error) {
	rows, err := s.Pool.Query(ctx, query("app_proposals"), county, run, status)
	if err != nil {
		return nil, fmt.Errorf("app proposals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppProposal, error) {
		var p AppProposal
		var geo string
		err := r.Scan(&p.ID, &p.RunID, &p.CountyID, &p.Name, &p.Level, &p.Status, &p.Population, &p.StaffRequired,
			&p.AreaM2, &p.Buildings, &p.BuildingIDs, &p.UnitIDs, &p.BoundaryBarriers, &p.Rationale, &geo, &p.CreatedAt, &p.CreatedBy, &p.ZoneID, &p.DecisionReason,
			&p.PopulationEstimated, &p.Workers, &p.SupersededBy)
		p.Geometry = json.RawMessage(geo)
		p.RationaleText = zoning.RationaleTextOf(p.Rationale, len(p.BuildingIDs), len(p.UnitIDs))
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("app proposals: %w", err)
	}
	return out, nil
}

// AppRun is an engine run with its proposal counts.
type AppRun struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	CreatedAt time.Time       `json:"created_at"`
	CreatedBy string          `json:"created_by"`
	Params    json.RawMessage `json:"params"`
	Proposals int             `json:"proposals"`
	Open      int             `json:"open"`
}

// AppRuns lists the latest 20 engine runs of county.
func (s *Store) AppRuns(ctx context.Context, county int64) ([]AppRun, error) {
	rows, err := s.Pool.Query(ctx, query("app_runs"), county)
	if err != nil {
		return nil, fmt.Errorf("app runs: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AppRun, error) {
		var x AppRun
		err := r.Scan(&x.ID, &x.At, &x.CreatedAt, &x.CreatedBy, &x.Params, &x.Proposals, &x.Open)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("app runs: %w", err)
	}
	return out, nil
}

// ProposalBarriers answers the barriers on proposal id's boundary as a
// GeoJSON FeatureCollection; an unknown proposal is zoning.ErrNotFound.
func (s *Store) ProposalBarriers(ctx context.Context, id int64) ([]byte, error) {
	var fc []byte
	var found bool
	err := s.Pool.QueryRow(ctx, query("app_proposal_barriers"), id).Scan(&fc, &found)
	if err != nil {
		return nil, fmt.Errorf("barriers of proposal %d: %w", id, err)
	}
	if !found {
		return nil, zoning.Errorf(zoning.ErrNotFound, "proposal %d not found", id)
	}
	return fc, nil
}

// AppBuilding answers building id as a GeoJSON feature.
func (s *Store) AppBuilding(ctx context.Context, id int64) ([]byte, error) {
	var f []byte
	err := s.Pool.QueryRow(ctx, query("app_building"), id).Scan(&f)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, zoning.Errorf(zoning.ErrNotFound, "building %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("building %d: %w", id, err)
	}
	return f, nil
}

// AppBuildings answers buildings by id, as GeoJSON features in id order.
func (s *Store) AppBuildings(ctx context.Context, ids []int64) ([]json.RawMessage, error) {
	return s.features(ctx, "app buildings", query("app_buildings"), ids)
}

// SearchBuildings answers at most limit buildings of county (0: any) in
// which every word occurs, as GeoJSON features.
func (s *Store) SearchBuildings(ctx context.Context, county int64, words []string, limit int) ([]json.RawMessage, error) {
	return s.features(ctx, "app search", query("app_search"), county, words, limit)
}

func (s *Store) features(ctx context.Context, what, sql string, args ...any) ([]json.RawMessage, error) {
	rows, err := s.Pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (json.RawMessage, error) {
		var f string
		err := r.Scan(&f)
		return json.RawMessage(f), err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}
