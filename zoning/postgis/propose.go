package postgis

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis/sqlfile"
)

//go:embed sql/*.sql
var sqlFS embed.FS

var queries = sqlfile.Must("postgis", sqlFS)

// query returns the statement of sql/NAME.sql (a missing file panics: a
// typo, caught by the tests of every caller).
func query(name string) string { return queries.Query(name) }

// Proposals is the store side of the proposal engine; it implements
// zoning.ProposalSource.
type Proposals struct {
	S *Store
	// Log, when set, receives the duration of each step at debug level.
	Log *slog.Logger
}

// step logs how long a step of the engine took.
func (p Proposals) step(name string, start time.Time) {
	if p.Log != nil {
		p.Log.Debug("propose step", "step", name, "ms", time.Since(start).Milliseconds())
	}
}

var _ zoning.ProposalSource = Proposals{}

// County returns the county with its rule set (the default when unset).
func (p Proposals) County(ctx context.Context, id int64) (zoning.County, error) {
	var c zoning.County
	var levels, enlargement []byte
	err := p.S.Pool.QueryRow(ctx, `
		SELECT a.id, a.name, a.authority, r.id, r.name, r.edition, r.levels, r.clean_days,
		       r.screening_required, r.staff_ratio, r.finest_granularity, r.default_level, r.enlargement
		FROM admin_areas a
		JOIN rule_sets r ON r.id = coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default))
		WHERE a.id = $1 AND a.level = 'county'`, id).Scan(
		&c.ID, &c.Name, &c.Authority, &c.RuleSet.ID, &c.RuleSet.Name, &c.RuleSet.Edition, &levels,
		&c.RuleSet.CleanDays, &c.RuleSet.ScreeningRequired, &c.RuleSet.StaffRatio,
		&c.RuleSet.FinestGranularity, &c.RuleSet.DefaultLevel, &enlargement)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, zoning.Errorf(zoning.ErrNotFound, "county %d not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("load county %d: %w", id, err)
	}
	if err := json.Unmarshal(levels, &c.RuleSet.Levels); err != nil {
		return c, fmt.Errorf("rule set %s levels: %w", c.RuleSet.ID, err)
	}
	if c.RuleSet.Enlargement, err = zoning.ParseEnlargementBounds(enlargement); err != nil {
		return c, fmt.Errorf("rule set %s: %w", c.RuleSet.ID, err)
	}
	return c, nil
}

// ProposalInputs reads the county's cases up to day and their traces.
func (p Proposals) ProposalInputs(ctx context.Context, countyID int64, day time.Time) ([]zoning.CaseInput, []zoning.TraceInput, error) {
	defer p.step("inputs", time.Now())
	rows, err := p.S.Pool.Query(ctx, query("propose_cases"), countyID, day)
	if err != nil {
		return nil, nil, fmt.Errorf("query cases: %w", err)
	}
	var cases []zoning.CaseInput
	var ids []int64
	for rows.Next() {
		var c zoning.CaseInput
		var lon, lat *float64
		if err := rows.Scan(&c.ID, &c.ReportDate, &c.UnitID, &c.BuildingID, &lon, &lat, &c.SourceKnown, &c.Excluded); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan case: %w", err)
		}
		if lon == nil || lat == nil || c.BuildingID == 0 {
			// Residences are resolved to a building when a case is registered;
			// one without is not zoned but still listed.
			if c.Excluded == "" {
				c.Excluded = "no_residence_building"
			}
		} else {
			c.Lon, c.Lat = *lon, *lat
		}
		cases = append(cases, c)
		ids = append(ids, c.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read cases: %w", err)
	}
	rows, err = p.S.Pool.Query(ctx, query("propose_traces"), ids)
	if err != nil {
		return nil, nil, fmt.Errorf("query traces: %w", err)
	}
	defer rows.Close()
	var traces []zoning.TraceInput
	for rows.Next() {
		var t zoning.TraceInput
		if err := rows.Scan(&t.CaseID, &t.PlaceID, &t.BuildingID, &t.Enclosed, &t.PoorlyVentilated, &t.Hours); err != nil {
			return nil, nil, fmt.Errorf("scan trace: %w", err)
		}
		traces = append(traces, t)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read traces: %w", err)
	}
	return cases, traces, nil
}

// AssembleDrafts merges parts into drafts (see sql/propose_assemble.sql).
func (p Proposals) AssembleDrafts(ctx context.Context, county zoning.County, params zoning.ProposeParams, parts []zoning.ZonePart) ([]zoning.AssembledDraft, json.RawMessage, error) {
	tx, err := p.S.Pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	out, low, err := p.assembleIn(ctx, tx, county, params, parts)
	if err != nil {
		return nil, nil, err
	}
	return out, low, tx.Commit(ctx)
}

// assembleIn assembles in tx; its temporary tables live until tx ends, so
// one transaction assembles once.
func (p Proposals) assembleIn(ctx context.Context, tx pgx.Tx, county zoning.County, params zoning.ProposeParams, parts []zoning.ZonePart) ([]zoning.AssembledDraft, json.RawMessage, error) {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE zparts (part int, kind text, geom geometry) ON COMMIT DROP`); err != nil {
		return nil, nil, fmt.Errorf("create parts table: %w", err)
	}
	// Parts go in as (part, id) pairs, one statement per kind of part.
	var blockPart, blockID, compPart, compID, bldPart, bldID, unitPart, unitID, traced []int64
	for i, part := range parts {
		switch {
		case len(part.CompoundIDs) > 0:
			for _, id := range part.CompoundIDs {
				compPart, compID = append(compPart, int64(i)), append(compID, id)
			}
		case len(part.BlockIDs) > 0:
			for _, id := range part.BlockIDs {
				blockPart, blockID = append(blockPart, int64(i)), append(blockID, id)
			}
		case len(part.BuildingIDs) > 0:
			for _, id := range part.BuildingIDs {
				bldPart, bldID = append(bldPart, int64(i)), append(bldID, id)
			}
			if slices.ContainsFunc(part.Rules, func(r string) bool { return strings.HasPrefix(r, "place_") }) {
				traced = append(traced, part.BuildingIDs...)
			}
		case len(part.UnitIDs) > 0:
			for _, id := range part.UnitIDs {
				unitPart, unitID = append(unitPart, int64(i)), append(unitID, id)
			}
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE zunitparts ON COMMIT DROP AS
		SELECT part::int AS part, unit_id FROM unnest($1::bigint[], $2::bigint[]) AS x(part, unit_id)`, unitPart, unitID); err != nil {
		return nil, nil, fmt.Errorf("load unit parts: %w", err)
	}
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO zparts SELECT x.part, 'block', ST_Union(bl.geom)
		FROM unnest($1::bigint[], $2::bigint[]) AS x(part, id) JOIN barrier_blocks bl ON bl.id = x.id GROUP BY x.part`, blockPart, blockID)
	batch.Queue(`INSERT INTO zparts SELECT x.part, 'block', ST_Union(c.geom)
		FROM unnest($1::bigint[], $2::bigint[]) AS x(part, id) JOIN compounds c ON c.id = x.id GROUP BY x.part`, compPart, compID)
	batch.Queue(`INSERT INTO zparts SELECT x.part, 'building', ST_Union(b.geom)
		FROM unnest($1::bigint[], $2::bigint[]) AS x(part, id) JOIN buildings b ON b.id = x.id GROUP BY x.part`, bldPart, bldID)
	batch.Queue(`INSERT INTO zparts SELECT x.part, 'unit', ST_Union(coalesce(u.geom, b.geom))
		FROM zunitparts x JOIN units u ON u.id = x.unit_id JOIN buildings b ON b.id = u.building_id GROUP BY x.part`)
	start := time.Now()
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, nil, fmt.Errorf("load parts: %w", err)
	}
	p.step("assemble: parts", start)
	if _, err := tx.Exec(ctx, `DELETE FROM zparts WHERE geom IS NULL`); err != nil {
		return nil, nil, fmt.Errorf("clean parts: %w", err)
	}
	for _, stmt := range splitStatements(query("propose_assemble")) {
		// Statements take $1 = the membership share.
		var args []any
		if strings.Contains(stmt, "$1") {
			args = []any{params.MembershipShare}
		}
		start := time.Now()
		if _, err := tx.Exec(ctx, stmt, args...); err != nil {
			return nil, nil, fmt.Errorf("assemble: %w", err)
		}
		p.step("assemble: "+strings.Join(strings.Fields(stmt)[:min(4, len(strings.Fields(stmt)))], " "), start)
	}
	start = time.Now()
	if traced == nil {
		traced = []int64{}
	}
	rows, err := tx.Query(ctx, query("propose_members"), traced, params.FloorAreaPerWorkerM2)
	if err != nil {
		return nil, nil, fmt.Errorf("members: %w", err)
	}
	byGroup := map[int]*zoning.AssembledDraft{}
	var order []int
	for rows.Next() {
		var grp int
		d := zoning.AssembledDraft{}
		var geo string
		if err := rows.Scan(&grp, &d.BuildingIDs, &d.UnitIDs, &d.Population, &d.PopulationEstimated, &d.Workers, &d.AreaM2, &geo); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan draft: %w", err)
		}
		d.GeoJSON = []byte(geo)
		d.BoundaryBarriers = []zoning.BarrierRef{}
		byGroup[grp] = &d
		order = append(order, grp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read drafts: %w", err)
	}
	p.step("assemble: members", start)
	start = time.Now()
	// Which parts went into which draft.
	rows, err = tx.Query(ctx, `SELECT f.grp, s.parts FROM zfinal f, unnest(f.comps) AS fc(comp) JOIN zshaped s ON s.comp = fc.comp`)
	if err != nil {
		return nil, nil, fmt.Errorf("draft parts: %w", err)
	}
	for rows.Next() {
		var grp int
		var ps []int32
		if err := rows.Scan(&grp, &ps); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan draft parts: %w", err)
		}
		if d := byGroup[grp]; d != nil {
			for _, x := range ps {
				d.Parts = append(d.Parts, int(x))
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read draft parts: %w", err)
	}
	p.step("assemble: draft parts", start)
	start = time.Now()
	rows, err = tx.Query(ctx, query("propose_barriers"), params.BarrierToleranceM, params.FineBoundaryKinds, params.FineBoundaryRoadClasses, county.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("boundary barriers: %w", err)
	}
	for rows.Next() {
		var what string
		var grp int
		var b zoning.BarrierRef
		if err := rows.Scan(&what, &grp, &b.ID, &b.Kind, &b.RoadClass, &b.Name, &b.LengthM); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("scan boundary barrier: %w", err)
		}
		d := byGroup[grp]
		if d == nil {
			continue
		}
		if what == "share" {
			d.Rationale.BoundaryOnBarriers = b.LengthM
			continue
		}
		b.LengthM = float64(int(b.LengthM*10)) / 10
		d.BoundaryBarriers = append(d.BoundaryBarriers, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read boundary barriers: %w", err)
	}
	p.step("assemble: boundary barriers", start)
	start = time.Now()
	var low *string
	if err := tx.QueryRow(ctx, `SELECT ST_AsGeoJSON(ST_ForcePolygonCCW(ST_Multi(ST_CollectionExtract(ST_Difference(a.geom,
			coalesce((SELECT ST_Union(geom) FROM zfinal), ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326))), 3))), 7)
		FROM admin_areas a WHERE a.id = $1`, county.ID).Scan(&low); err != nil {
		return nil, nil, fmt.Errorf("low-risk remainder: %w", err)
	}
	p.step("assemble: low-risk remainder", start)
	out := make([]zoning.AssembledDraft, 0, len(order))
	for _, g := range order {
		out = append(out, *byGroup[g])
	}
	// Deterministic order: by the smallest member id, then the geometry.
	slices.SortStableFunc(out, func(a, b zoning.AssembledDraft) int {
		ka, kb := firstID(a), firstID(b)
		if ka != kb {
			if ka < kb {
				return -1
			}
			return 1
		}
		return strings.Compare(string(a.GeoJSON), string(b.GeoJSON))
	})
	var lowJSON json.RawMessage
	if low != nil {
		lowJSON = json.RawMessage(*low)
	}
	return out, lowJSON, nil
}

func firstID(d zoning.AssembledDraft) int64 {
	var ids []int64
	ids = append(ids, d.BuildingIDs...)
	ids = append(ids, d.UnitIDs...)
	if len(ids) == 0 {
		return 1 << 62
	}
	return slices.Min(ids)
}

// splitStatements splits a file of ;-terminated statements. Comment lines are
// dropped first; statements must not hold semicolons in literals or bodies.
func splitStatements(sql string) []string {
	var code []string
	for _, l := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			code = append(code, l)
		}
	}
	var out []string
	for _, s := range strings.Split(strings.Join(code, "\n"), ";") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// SaveProposal stores the run and its drafts in one transaction.
func (p Proposals) SaveProposal(ctx context.Context, prop *zoning.Proposal, snap zoning.InputSnapshot, actor *int64) error {
	defer p.step("save", time.Now())
	tx, err := p.S.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx)
	params, err := json.Marshal(prop.Params)
	if err != nil {
		return fmt.Errorf("encode params: %w", err)
	}
	snapJSON, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	ignored, err := json.Marshal(prop.Ignored)
	if err != nil {
		return fmt.Errorf("encode ignored cases: %w", err)
	}
	var low any
	if len(prop.LowRisk) > 0 {
		low = string(prop.LowRisk)
	}
	if err := tx.QueryRow(ctx, `INSERT INTO proposal_runs (county_id, at, params, input_snapshot, low_risk_geom, ignored_cases, created_by)
		VALUES ($1, $2, $3, $4, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($5), 4326)), $6, $7) RETURNING id`,
		prop.CountyID, prop.At, params, snapJSON, low, ignored, actor).Scan(&prop.RunID); err != nil {
		return fmt.Errorf("insert proposal run: %w", err)
	}
	prop.IDs = prop.IDs[:0]
	batch := &pgx.Batch{}
	for _, d := range prop.Drafts {
		barriers, err := json.Marshal(d.BoundaryBarriers)
		if err != nil {
			return fmt.Errorf("encode barriers: %w", err)
		}
		rationale, err := json.Marshal(d.Rationale)
		if err != nil {
			return fmt.Errorf("encode rationale: %w", err)
		}
		batch.Queue(query("proposal_insert"),
			prop.RunID, prop.CountyID, d.Level, d.Name, string(d.GeoJSON), d.BuildingIDs, d.UnitIDs, d.Population,
			d.StaffRequired, d.AreaM2, barriers, rationale, actor, d.PopulationEstimated, d.Workers, nil)
	}
	br := tx.SendBatch(ctx, batch)
	for _, d := range prop.Drafts {
		var id int64
		if err := br.QueryRow().Scan(&id); err != nil {
			br.Close()
			return fmt.Errorf("insert proposal %s: %w", d.Key, err)
		}
		prop.IDs = append(prop.IDs, id)
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("insert proposals: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE layer_versions SET version = version + 1, changed_at = now() WHERE layer = 'proposals'`); err != nil {
		return fmt.Errorf("bump proposals layer: %w", err)
	}
	return tx.Commit(ctx)
}

// Run loads a stored engine run with its proposals, as it was proposed
// (later approvals or rejections show in each proposal's status).
func (p Proposals) Run(ctx context.Context, id int64) (zoning.Proposal, []string, error) {
	var prop zoning.Proposal
	var params, ignored []byte
	var low *string
	err := p.S.Pool.QueryRow(ctx, `SELECT r.id, r.county_id, r.at, r.params, r.ignored_cases,
			ST_AsGeoJSON(ST_ForcePolygonCCW(r.low_risk_geom), 7),
			(SELECT coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default)) FROM admin_areas a WHERE a.id = r.county_id)
		FROM proposal_runs r WHERE r.id = $1`, id).Scan(&prop.RunID, &prop.CountyID, &prop.At, &params, &ignored, &low, &prop.RuleSetID)
	if errors.Is(err, pgx.ErrNoRows) {
		return prop, nil, zoning.Errorf(zoning.ErrNotFound, "proposal run %d not found", id)
	}
	if err != nil {
		return prop, nil, fmt.Errorf("load proposal run %d: %w", id, err)
	}
	if err := json.Unmarshal(params, &prop.Params); err != nil {
		return prop, nil, fmt.Errorf("decode run params: %w", err)
	}
	if err := json.Unmarshal(ignored, &prop.Ignored); err != nil {
		return prop, nil, fmt.Errorf("decode ignored cases: %w", err)
	}
	if low != nil {
		prop.LowRisk = json.RawMessage(*low)
	}
	rows, err := p.S.Pool.Query(ctx, `SELECT id, level, name, status, ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7), building_ids, unit_ids,
			population, staff_required, area_m2, boundary_barriers, rationale, population_estimated, workers
		FROM proposals WHERE run_id = $1 ORDER BY id`, id)
	if err != nil {
		return prop, nil, fmt.Errorf("load proposals of run %d: %w", id, err)
	}
	defer rows.Close()
	var statuses []string
	for rows.Next() {
		var d zoning.Draft
		var pid int64
		var status, geo string
		var barriers, rationale []byte
		if err := rows.Scan(&pid, &d.Level, &d.Name, &status, &geo, &d.BuildingIDs, &d.UnitIDs, &d.Population,
			&d.StaffRequired, &d.AreaM2, &barriers, &rationale, &d.PopulationEstimated, &d.Workers); err != nil {
			return prop, nil, fmt.Errorf("scan proposal: %w", err)
		}
		d.GeoJSON = []byte(geo)
		if err := json.Unmarshal(barriers, &d.BoundaryBarriers); err != nil {
			return prop, nil, fmt.Errorf("decode barriers: %w", err)
		}
		if err := json.Unmarshal(rationale, &d.Rationale); err != nil {
			return prop, nil, fmt.Errorf("decode rationale: %w", err)
		}
		d.Key = fmt.Sprintf("proposal-%d", pid)
		prop.Drafts = append(prop.Drafts, d)
		prop.IDs = append(prop.IDs, pid)
		statuses = append(statuses, status)
	}
	return prop, statuses, rows.Err()
}
