package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// Proposal returns a stored proposal with the zone approved from it, if any.
func (z Zones) Proposal(ctx context.Context, id int64) (zoning.ProposalRecord, error) {
	return getProposal(ctx, z.S.Pool, id)
}

// getProposal reads a proposal through q (a write's own transaction, or the pool).
func getProposal(ctx context.Context, q querier, id int64) (zoning.ProposalRecord, error) {
	var p zoning.ProposalRecord
	var geo string
	var reason *string
	err := q.QueryRow(ctx, `SELECT p.id, p.run_id, p.county_id, p.level, p.status, p.name,
			ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), 7), p.building_ids, p.unit_ids, p.population, p.staff_required, p.area_m2,
			p.rationale, p.created_by, p.created_at, p.decided_by, p.decided_at, p.decision_reason,
			(SELECT min(z.id) FROM zones z WHERE z.proposal_id = p.id),
			p.population_estimated, p.workers, p.supersedes, p.superseded_by
		FROM proposals p WHERE p.id = $1`, id).Scan(&p.ID, &p.RunID, &p.CountyID, &p.Level, &p.Status, &p.Name, &geo,
		&p.BuildingIDs, &p.UnitIDs, &p.Population, &p.StaffRequired, &p.AreaM2, &p.Rationale, &p.CreatedBy, &p.CreatedAt,
		&p.DecidedBy, &p.DecidedAt, &reason, &p.ZoneID, &p.PopulationEstimated, &p.Workers, &p.Supersedes, &p.SupersededBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, zoning.Errorf(zoning.ErrNotFound, "proposal %d not found", id)
	}
	if err != nil {
		return p, fmt.Errorf("load proposal %d: %w", id, err)
	}
	p.Geometry = json.RawMessage(geo)
	p.DecisionReason = deref(reason)
	p.RationaleText = zoning.RationaleTextOf(p.Rationale, len(p.BuildingIDs), len(p.UnitIDs))
	return p, nil
}

// proposalState is a proposal locked for a decision.
type proposalState struct {
	id, county  int64
	level, name string
	status      string
	geom        []byte // EWKB
	buildingIDs []int64
	unitIDs     []int64
	createdBy   *int64
}

func lockProposal(ctx context.Context, tx pgx.Tx, id int64, lockCountyToo bool) (proposalState, error) {
	p := proposalState{id: id}
	err := tx.QueryRow(ctx, `SELECT county_id FROM proposals WHERE id = $1`, id).Scan(&p.county)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, zoning.Errorf(zoning.ErrNotFound, "proposal %d not found", id)
	}
	if err != nil {
		return p, fmt.Errorf("look up proposal %d: %w", id, err)
	}
	if lockCountyToo {
		if err := lockCounty(ctx, tx, p.county); err != nil {
			return p, err
		}
	}
	err = tx.QueryRow(ctx, `SELECT level, name, status, ST_AsEWKB(geom), building_ids, unit_ids, created_by
		FROM proposals WHERE id = $1 FOR UPDATE`, id).Scan(&p.level, &p.name, &p.status, &p.geom, &p.buildingIDs, &p.unitIDs, &p.createdBy)
	if err != nil {
		return p, fmt.Errorf("lock proposal %d: %w", id, err)
	}
	return p, nil
}

func decided(p proposalState) error {
	if p.status != "proposed" {
		return zoning.Errorf(zoning.ErrConflict, "proposal %d is already %s: only a proposal still proposed can be approved or rejected", p.id, p.status)
	}
	return nil
}

// Approve turns a proposal into an active zone, version 1 (change
// designate), whole or after edits (a new geometry or a member change, see
// zoning.ApproveRequest). The approver must not be the proposer (SPEC §6).
// When the county had no active zone, its low-risk period opens.
func (z Zones) Approve(ctx context.Context, origin zoning.Origin, proposalID int64, req zoning.ApproveRequest) (zoning.Zone, error) {
	if err := req.Validate(); err != nil {
		return zoning.Zone{}, err
	}
	origin.Reason = req.Reason
	rec := &auditRecord{action: "proposal.approve", entity: "proposal", entityID: strconv.FormatInt(proposalID, 10)}
	var out zoning.Zone
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		p, err := lockProposal(ctx, tx, proposalID, true)
		if err != nil {
			return err
		}
		rec.before = map[string]any{"proposal_id": p.id, "status": p.status}
		if err := decided(p); err != nil {
			return err
		}
		if err := secondPerson(origin, p.createdBy, fmt.Sprintf("approve proposal %d", p.id), "you ran the proposal"); err != nil {
			return err
		}
		rules, err := countyRuleSet(ctx, tx, p.county)
		if err != nil {
			return err
		}
		if req.Level != "" {
			p.level = req.Level
		}
		if err := zoneLevel(rules, p.level); err != nil {
			return err
		}
		var c content
		switch {
		case len(req.Geometry) > 0 && string(req.Geometry) != "null":
			if c, err = drawnContent(ctx, tx, p.county, req.Geometry); err != nil {
				return err
			}
		case !req.MemberChange.Empty():
			in, out, err := applyMemberChange(ctx, tx, p.county, p.buildingIDs, p.unitIDs, req.MemberChange)
			if err != nil {
				return err
			}
			if c, err = zoneContentCut(ctx, tx, p.geom, in, out); err != nil {
				return err
			}
		default:
			if c, err = zoneContent(ctx, tx, p.geom, members{buildings: p.buildingIDs, units: p.unitIDs}); err != nil {
				return err
			}
		}
		if err := checkExclusive(ctx, tx, c, nil); err != nil {
			return err
		}
		var zoneID int64
		at := z.now()
		loc, err := z.countyLoc(ctx, tx, p.county)
		if err != nil {
			return err
		}
		day := zoning.DateOf(at, loc)
		name := p.name
		if strings.TrimSpace(req.Name) != "" {
			name = strings.TrimSpace(req.Name)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO zones (county_id, proposal_id, current_version, status, created_at, designated_on)
			VALUES ($1, $2, 1, 'active', $3, $4) RETURNING id`, p.county, p.id, at, day.Time).Scan(&zoneID); err != nil {
			return fmt.Errorf("insert zone: %w", err)
		}
		if err := insertVersion(ctx, tx, versionRow{zoneID: zoneID, version: 1, level: p.level, status: zoning.ZoneActive,
			change: zoning.ChangeDesignate, name: name, rules: rules, c: c, clock: day,
			clockReason: fmt.Sprintf("designated on %s", day), validFrom: at, author: actorID(origin), reason: req.Reason}); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE proposals SET status = 'accepted', decided_by = $2, decided_at = $3, decision_reason = $4
			WHERE id = $1`, p.id, actorID(origin), at, req.Reason); err != nil {
			return fmt.Errorf("mark proposal %d accepted: %w", p.id, err)
		}
		if err := openLowRisk(ctx, tx, p.county, at, zoneID); err != nil {
			return err
		}
		rec.after = map[string]any{"zone_id": zoneID, "version": 1, "level": p.level, "buildings": len(c.buildingIDs), "units": len(c.unitIDs),
			"population": c.population, "edited": len(req.Geometry) > 0 || !req.MemberChange.Empty()}
		out, err = getZone(ctx, tx, zoneID)
		return err
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return out, nil
}

// Reject rejects a proposal with a reason (a county may decide that no zone
// is needed).
func (z Zones) Reject(ctx context.Context, origin zoning.Origin, proposalID int64, req zoning.RejectRequest) (zoning.ProposalRecord, error) {
	if err := req.Validate(); err != nil {
		return zoning.ProposalRecord{}, err
	}
	origin.Reason = req.Reason
	rec := &auditRecord{action: "proposal.reject", entity: "proposal", entityID: strconv.FormatInt(proposalID, 10)}
	var out zoning.ProposalRecord
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		p, err := lockProposal(ctx, tx, proposalID, false)
		if err != nil {
			return err
		}
		rec.before = map[string]any{"proposal_id": p.id, "status": p.status}
		if err := decided(p); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE proposals SET status = 'rejected', decided_by = $2, decided_at = $3, decision_reason = $4
			WHERE id = $1`, p.id, actorID(origin), z.now(), req.Reason); err != nil {
			return fmt.Errorf("reject proposal %d: %w", p.id, err)
		}
		rec.after = map[string]any{"proposal_id": p.id, "status": "rejected"}
		out, err = getProposal(ctx, tx, proposalID)
		return err
	})
	if err != nil {
		return zoning.ProposalRecord{}, err
	}
	return out, nil
}

// zoneLevel checks that a zone may be designated at level under rules: one
// of its levels, not the lowest (the rest of the county).
func zoneLevel(rules zoning.RuleSet, level string) error {
	var codes []string
	for _, l := range rules.Levels[:len(rules.Levels)-1] {
		codes = append(codes, l.Code)
		if l.Code == level {
			return nil
		}
	}
	return zoning.Errorf(zoning.ErrInvalid, "level %q: a zone of a county under rule set %s is one of %s", level, rules.ID, strings.Join(codes, ", "))
}
