package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// StepProposal is an expert's "enlarge one level" (up) or "shrink one
// level" of a proposal still proposed: every spread cluster of it moves one
// level (zoning.StepParts), the parts are assembled again, and the result is
// stored as new proposals of the same run that supersede the old one (status
// superseded, superseded_by the new ids; the old geometry stays for the
// record). A decided proposal (approved, rejected or superseded) cannot be
// changed (ErrConflict), nor can one with no level above or below. Audited
// as proposal.enlarge / proposal.shrink; answers the new proposals read
// inside the write's transaction.
func (z Zones) StepProposal(ctx context.Context, origin zoning.Origin, id int64, up bool) ([]zoning.ProposalRecord, error) {
	action := "proposal.shrink"
	if up {
		action = "proposal.enlarge"
	}
	old, err := z.Proposal(ctx, id)
	if err != nil {
		return nil, err
	}
	var r zoning.Rationale
	if err := json.Unmarshal(old.Rationale, &r); err != nil {
		return nil, fmt.Errorf("decode rationale of proposal %d: %w", id, err)
	}
	var rawParams []byte
	if err := z.S.Pool.QueryRow(ctx, `SELECT params FROM proposal_runs WHERE id = $1`, old.RunID).Scan(&rawParams); err != nil {
		return nil, fmt.Errorf("params of run %d: %w", old.RunID, err)
	}
	var params zoning.ProposeParams
	if err := json.Unmarshal(rawParams, &params); err != nil {
		return nil, fmt.Errorf("decode params of run %d: %w", old.RunID, err)
	}
	params = params.WithDefaults()
	src := Proposals{S: z.S}
	county, err := src.County(ctx, old.CountyID)
	if err != nil {
		return nil, err
	}
	// The levels are measured before the write (building a block cache
	// commits on its own); the write checks the proposal is still proposed.
	var clusters []zoning.Cluster
	for _, e := range r.Enlargements {
		clusters = append(clusters, zoning.Cluster{ID: e.ClusterID, BuildingIDs: e.SeedBuildingIDs, Spread: true})
	}
	levels, err := src.ClusterLevels(ctx, county.ID, params, county.RuleSet.Enlargement, clusters)
	if err != nil {
		return nil, err
	}
	rec := &auditRecord{action: action, entity: "proposal", entityID: strconv.FormatInt(id, 10)}
	var out []zoning.ProposalRecord
	err = z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		p, err := lockProposal(ctx, tx, id, true)
		if err != nil {
			return err
		}
		rec.before = map[string]any{"proposal_id": p.id, "status": p.status, "levels": levelsOf(r.Enlargements)}
		if p.status != "proposed" {
			return zoning.Errorf(zoning.ErrConflict, "proposal %d is already %s: only a proposal still proposed can be enlarged or shrunk", p.id, p.status)
		}
		parts, enl, err := zoning.StepParts(r, up, levels)
		if err != nil {
			return err
		}
		assembled, _, err := src.assembleIn(ctx, tx, county, params, parts)
		if err != nil {
			return fmt.Errorf("assemble: %w", err)
		}
		if len(assembled) == 0 {
			return zoning.Errorf(zoning.ErrConflict, "the %s proposal would be empty", action)
		}
		var ids []int64
		for i, a := range assembled {
			d, err := steppedDraft(ctx, tx, a, parts, enl, r, county, p.level)
			if err != nil {
				return err
			}
			d.Name = old.Name
			if len(assembled) > 1 {
				d.Name = fmt.Sprintf("%s-%d", old.Name, i+1)
			}
			barriers, err := json.Marshal(d.BoundaryBarriers)
			if err != nil {
				return fmt.Errorf("encode barriers: %w", err)
			}
			rationale, err := json.Marshal(d.Rationale)
			if err != nil {
				return fmt.Errorf("encode rationale: %w", err)
			}
			var nid int64
			if err := tx.QueryRow(ctx, query("proposal_insert"), old.RunID, county.ID, d.Level, d.Name, string(d.GeoJSON), d.BuildingIDs, d.UnitIDs,
				d.Population, d.StaffRequired, d.AreaM2, barriers, rationale, actorID(origin), d.PopulationEstimated, d.Workers, id).Scan(&nid); err != nil {
				return fmt.Errorf("insert stepped proposal: %w", err)
			}
			ids = append(ids, nid)
		}
		if _, err := tx.Exec(ctx, `UPDATE proposals SET status = 'superseded', superseded_by = $2, decided_by = $3, decided_at = $4, decision_reason = $5
			WHERE id = $1`, id, ids, actorID(origin), z.now(), action); err != nil {
			return fmt.Errorf("supersede proposal %d: %w", id, err)
		}
		rec.after = map[string]any{"proposal_id": id, "status": "superseded", "superseded_by": ids, "levels": levelsOf(enl)}
		for _, nid := range ids {
			np, err := getProposal(ctx, tx, nid)
			if err != nil {
				return err
			}
			out = append(out, np)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func levelsOf(enl []zoning.Enlargement) map[string]string {
	m := map[string]string{}
	for _, e := range enl {
		m[strconv.Itoa(e.ClusterID)] = e.Level
	}
	return m
}

// steppedDraft makes the draft of an assembled stepped proposal: its
// rationale keeps the old one's rules, cases and places that belong to its
// members, with the new enlargements.
func steppedDraft(ctx context.Context, tx pgx.Tx, a zoning.AssembledDraft, parts []zoning.ZonePart, enl []zoning.Enlargement,
	old zoning.Rationale, county zoning.County, level string) (zoning.Draft, error) {
	d := a.Draft
	d.Level = level
	d.StaffRequired = county.RuleSet.StaffRequired(d.Population + d.Workers)
	r := zoning.Rationale{BoundaryOnBarriers: a.Rationale.BoundaryOnBarriers, CaseIDs: []int64{}}
	for _, i := range slices.Sorted(slices.Values(a.Parts)) {
		part := parts[i]
		r.Parts = append(r.Parts, part)
		r.Rules = append(r.Rules, part.Rules...)
		if part.ClusterID == 0 {
			continue
		}
		r.ClusterIDs = append(r.ClusterIDs, part.ClusterID)
		r.Enlarged = r.Enlarged || part.Level != zoning.LevelBuilding
		for _, e := range enl {
			if e.ClusterID == part.ClusterID {
				r.Enlargements = append(r.Enlargements, e)
			}
		}
	}
	slices.Sort(r.Rules)
	r.Rules = slices.Compact(r.Rules)
	slices.Sort(r.ClusterIDs)
	r.ClusterIDs = slices.Compact(r.ClusterIDs)
	// The old proposal's cases living in (or visiting a place of) the new
	// members, and its places in them.
	if err := tx.QueryRow(ctx, `
		SELECT coalesce((SELECT array_agg(c.id ORDER BY c.id) FROM cases c LEFT JOIN units u ON u.id = c.residence_unit_id
		    WHERE c.id = ANY ($1) AND (coalesce(c.residence_building_id, u.building_id) = ANY ($3) OR c.residence_unit_id = ANY ($4)
		       OR EXISTS (SELECT 1 FROM traces t LEFT JOIN places pl ON pl.id = t.place_id
		                  WHERE t.case_id = c.id AND coalesce(pl.building_id, t.building_id) = ANY ($3)))), '{}'),
		       coalesce((SELECT array_agg(pl.id ORDER BY pl.id) FROM places pl WHERE pl.id = ANY ($2) AND pl.building_id = ANY ($3)), '{}')`,
		old.CaseIDs, old.PlaceIDs, d.BuildingIDs, d.UnitIDs).Scan(&r.CaseIDs, &r.PlaceIDs); err != nil {
		return d, fmt.Errorf("cases of the stepped proposal: %w", err)
	}
	zoning.Describe(&r, len(d.BuildingIDs), len(d.UnitIDs))
	d.Rationale = r
	return d, nil
}
