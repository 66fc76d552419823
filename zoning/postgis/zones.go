package postgis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	// days); nil means zoning.ChinaTime().
	Loc *time.Location
}

func (z Zones) now() time.Time {
	t := time.Now()
	if z.Now != nil {
		t = z.Now()
	}
	// The database keeps microseconds; compare times at that precision.
	return t.Truncate(time.Microsecond)
}

func (z Zones) loc() *time.Location {
	if z.Loc != nil {
		return z.Loc
	}
	return zoning.ChinaTime()
}

func (z Zones) today() zoning.Date { return zoning.DateOf(z.now(), z.loc()) }

// versionSelect reads zone versions as zoning.ZoneVersion (see scanVersion).
const versionSelect = `SELECT v.zone_id, z.county_id, v.version, v.level, v.status, v.change, v.name,
	ST_AsGeoJSON(ST_ForcePolygonCCW(v.geom), 7), v.building_ids, v.unit_ids, v.population, v.staff_required, v.area_m2,
	v.rule_set_id, v.clock_start, v.clock_reason, v.clock_start + r.clean_days, v.valid_from, v.valid_to,
	v.author_id, coalesce(u.username, ''), v.reason, v.published_notice_id
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
		&v.ValidFrom, &v.ValidTo, &v.AuthorID, &v.Author, &v.Reason, &v.PublishedNoticeID)
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
	var zn zoning.Zone
	err := z.S.Pool.QueryRow(ctx, `SELECT id, county_id, proposal_id, parent_zone_ids, current_version, status, created_at
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
	if zn.Current, err = z.Version(ctx, id, zn.CurrentVersion); err != nil {
		return zn, err
	}
	return zn, nil
}

// Version returns one version of a zone.
func (z Zones) Version(ctx context.Context, id int64, version int) (zoning.ZoneVersion, error) {
	v, err := scanVersion(z.S.Pool.QueryRow(ctx, versionSelect+`WHERE v.zone_id = $1 AND v.version = $2`, id, version))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := z.zoneExists(ctx, id); gerr != nil {
			return v, gerr
		}
		return v, zoning.Errorf(zoning.ErrNotFound, "zone %d has no version %d", id, version)
	}
	if err != nil {
		return v, fmt.Errorf("load version %d of zone %d: %w", version, id, err)
	}
	return v, nil
}

func (z Zones) zoneExists(ctx context.Context, id int64) (int, error) {
	var cur int
	err := z.S.Pool.QueryRow(ctx, `SELECT current_version FROM zones WHERE id = $1`, id).Scan(&cur)
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
	if _, err := z.zoneExists(ctx, id); err != nil {
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

// Proposal returns a stored proposal with the zone approved from it, if any.
func (z Zones) Proposal(ctx context.Context, id int64) (zoning.ProposalRecord, error) {
	var p zoning.ProposalRecord
	var geo string
	var reason *string
	err := z.S.Pool.QueryRow(ctx, `SELECT p.id, p.run_id, p.county_id, p.level, p.status, p.name,
			ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), 7), p.building_ids, p.unit_ids, p.population, p.staff_required, p.area_m2,
			p.rationale, p.created_by, p.created_at, p.decided_by, p.decided_at, p.decision_reason,
			(SELECT min(z.id) FROM zones z WHERE z.proposal_id = p.id)
		FROM proposals p WHERE p.id = $1`, id).Scan(&p.ID, &p.RunID, &p.CountyID, &p.Level, &p.Status, &p.Name, &geo,
		&p.BuildingIDs, &p.UnitIDs, &p.Population, &p.StaffRequired, &p.AreaM2, &p.Rationale, &p.CreatedBy, &p.CreatedAt,
		&p.DecidedBy, &p.DecidedAt, &reason, &p.ZoneID)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, zoning.Errorf(zoning.ErrNotFound, "proposal %d not found", id)
	}
	if err != nil {
		return p, fmt.Errorf("load proposal %d: %w", id, err)
	}
	p.Geometry = json.RawMessage(geo)
	p.DecisionReason = deref(reason)
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
	var zoneID int64
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
		at := z.now()
		day := zoning.DateOf(at, z.loc())
		name := p.name
		if strings.TrimSpace(req.Name) != "" {
			name = strings.TrimSpace(req.Name)
		}
		if err := tx.QueryRow(ctx, `INSERT INTO zones (county_id, proposal_id, current_version, status, created_at)
			VALUES ($1, $2, 1, 'active', $3) RETURNING id`, p.county, p.id, at).Scan(&zoneID); err != nil {
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
		rec.after = map[string]any{"zone_id": zoneID, "version": 1, "buildings": len(c.buildingIDs), "units": len(c.unitIDs),
			"population": c.population, "edited": len(req.Geometry) > 0 || !req.MemberChange.Empty()}
		return nil
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return z.Get(ctx, zoneID)
}

// Reject rejects a proposal with a reason (a county may decide that no zone
// is needed).
func (z Zones) Reject(ctx context.Context, origin zoning.Origin, proposalID int64, req zoning.RejectRequest) (zoning.ProposalRecord, error) {
	if err := req.Validate(); err != nil {
		return zoning.ProposalRecord{}, err
	}
	origin.Reason = req.Reason
	rec := &auditRecord{action: "proposal.reject", entity: "proposal", entityID: strconv.FormatInt(proposalID, 10)}
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
		return nil
	})
	if err != nil {
		return zoning.ProposalRecord{}, err
	}
	return z.Proposal(ctx, proposalID)
}

// ---- edits -----------------------------------------------------------------

// ReplaceGeometry replaces an active zone's geometry (version e.Version must
// be current). Members follow the membership rule (zoning.MembershipShare)
// and the saved geometry is adjusted so that no building is cut.
func (z Zones) ReplaceGeometry(ctx context.Context, origin zoning.Origin, id int64, e zoning.GeometryEdit) (zoning.Zone, error) {
	if err := e.Validate(); err != nil {
		return zoning.Zone{}, err
	}
	return z.edit(ctx, origin, id, e.Version, e.Reason, "zone.edit_geometry", func(tx pgx.Tx, st zoneState) (content, error) {
		return drawnContent(ctx, tx, st.county, e.Geometry)
	})
}

// EditMembers adds or removes buildings and units of an active zone
// (version e.Version must be current); the geometry is the old one plus the
// added footprints minus the removed ones.
func (z Zones) EditMembers(ctx context.Context, origin zoning.Origin, id int64, e zoning.MembersEdit) (zoning.Zone, error) {
	if err := e.Validate(); err != nil {
		return zoning.Zone{}, err
	}
	return z.edit(ctx, origin, id, e.Version, e.Reason, "zone.edit_members", func(tx pgx.Tx, st zoneState) (content, error) {
		in, out, err := applyMemberChange(ctx, tx, st.county, st.buildingIDs, st.unitIDs, e.MemberChange)
		if err != nil {
			return content{}, err
		}
		geom, err := versionGeom(ctx, tx, st.id, st.version)
		if err != nil {
			return content{}, err
		}
		return zoneContentCut(ctx, tx, geom, in, out)
	})
}

// edit writes an 'adjust' version of zone id from the content build makes.
func (z Zones) edit(ctx context.Context, origin zoning.Origin, id int64, expected int, reason, action string,
	build func(pgx.Tx, zoneState) (content, error)) (zoning.Zone, error) {
	origin.Reason = reason
	rec := &auditRecord{action: action, entity: "zone", entityID: strconv.FormatInt(id, 10)}
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		st, err := lockZone(ctx, tx, id, true)
		if err != nil {
			return err
		}
		rec.before = st.ref()
		rec.after = map[string]any{"edited_version": expected}
		if err := st.editable(expected); err != nil {
			return err
		}
		c, err := build(tx, st)
		if err != nil {
			return err
		}
		if err := checkExclusive(ctx, tx, c, []int64{st.id}); err != nil {
			return err
		}
		rules, err := loadRuleSet(ctx, tx, st.ruleSetID)
		if err != nil {
			return err
		}
		at := after(z.now(), st.validFrom)
		next, err := advance(ctx, tx, st, at, zoning.ZoneActive, func(next int) error {
			return insertVersion(ctx, tx, versionRow{zoneID: st.id, version: next, level: st.level, status: zoning.ZoneActive,
				change: zoning.ChangeAdjust, name: st.name, rules: rules, c: c, clock: st.clock, clockReason: st.clockReason,
				validFrom: at, author: actorID(origin), reason: reason})
		})
		if err != nil {
			return err
		}
		rec.after = map[string]any{"zone_id": st.id, "version": next, "change": zoning.ChangeAdjust, "buildings": len(c.buildingIDs),
			"units": len(c.unitIDs), "population": c.population}
		return nil
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return z.Get(ctx, id)
}

// Split splits an active zone into parts (see zoning.SplitRequest). Each
// part becomes a new active zone, version 1 (change split), whose clock
// starts where the parent's stood and runs on its own from then on; the
// parent gets a closing version with status superseded.
func (z Zones) Split(ctx context.Context, origin zoning.Origin, id int64, req zoning.SplitRequest) ([]zoning.Zone, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	origin.Reason = req.Reason
	rec := &auditRecord{action: "zone.split", entity: "zone", entityID: strconv.FormatInt(id, 10)}
	var partIDs []int64
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		st, err := lockZone(ctx, tx, id, true)
		if err != nil {
			return err
		}
		rec.before = st.ref()
		rec.after = map[string]any{"edited_version": req.Version}
		if err := st.editable(req.Version); err != nil {
			return err
		}
		for i, p := range req.Parts {
			if err := checkGeometry(ctx, tx, st.county, p); err != nil {
				return zoning.Errorf(zoning.Kind(err), "part %d: %s", i+1, zoning.Message(err))
			}
		}
		geom, err := versionGeom(ctx, tx, st.id, st.version)
		if err != nil {
			return err
		}
		partsJSON, err := json.Marshal(req.Parts)
		if err != nil {
			return fmt.Errorf("encode parts: %w", err)
		}
		clipped, err := splitParts(ctx, tx, st.id, geom, partsJSON)
		if err != nil {
			return err
		}
		assigned, err := assignToParts(ctx, tx, st, clipped)
		if err != nil {
			return err
		}
		rules, err := loadRuleSet(ctx, tx, st.ruleSetID)
		if err != nil {
			return err
		}
		at := after(z.now(), st.validFrom)
		allUnits := assigned.partialUnits()
		for i := range clipped {
			mine := assigned.parts[i]
			outside := members{buildings: without(st.buildingIDs, mine.buildings), units: without(allUnits, mine.units)}
			c, err := zoneContentCut(ctx, tx, clipped[i], mine, outside)
			if err != nil {
				return fmt.Errorf("part %d: %w", i+1, err)
			}
			name := fmt.Sprintf("%s-%d", st.name, i+1)
			if len(req.Names) > 0 && strings.TrimSpace(req.Names[i]) != "" {
				name = strings.TrimSpace(req.Names[i])
			}
			var pid int64
			if err := tx.QueryRow(ctx, `INSERT INTO zones (county_id, proposal_id, parent_zone_ids, current_version, status, created_at)
				VALUES ($1, NULL, $2, 1, 'active', $3) RETURNING id`, st.county, []int64{st.id}, at).Scan(&pid); err != nil {
				return fmt.Errorf("insert part %d: %w", i+1, err)
			}
			why := fmt.Sprintf("split from zone %d (version %d); its clock carries over: %s", st.id, st.version, st.clockReason)
			if err := insertVersion(ctx, tx, versionRow{zoneID: pid, version: 1, level: st.level, status: zoning.ZoneActive,
				change: zoning.ChangeSplit, name: name, rules: rules, c: c, clock: st.clock, clockReason: why,
				validFrom: at, author: actorID(origin), reason: req.Reason}); err != nil {
				return err
			}
			partIDs = append(partIDs, pid)
		}
		next, err := advance(ctx, tx, st, at, zoning.ZoneSuperseded, func(next int) error {
			return copyVersion(ctx, tx, st, next, zoning.ZoneSuperseded, zoning.ChangeSplit, st.clock, st.clockReason, at, actorID(origin),
				fmt.Sprintf("%s (split into zones %s)", req.Reason, joinIDs(partIDs)))
		})
		if err != nil {
			return err
		}
		rec.after = map[string]any{"zone_id": st.id, "version": next, "status": zoning.ZoneSuperseded, "parts": partIDs}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]zoning.Zone, 0, len(partIDs))
	for _, pid := range partIDs {
		zn, err := z.Get(ctx, pid)
		if err != nil {
			return nil, err
		}
		out = append(out, zn)
	}
	return out, nil
}

// Merge merges active zones of one county into a new zone (version 1,
// change merge) whose clock is the latest of the parents'; the parents get
// closing versions with status superseded.
func (z Zones) Merge(ctx context.Context, origin zoning.Origin, req zoning.MergeRequest) (zoning.Zone, error) {
	if err := req.Validate(); err != nil {
		return zoning.Zone{}, err
	}
	origin.Reason = req.Reason
	refs := slices.Clone(req.Zones)
	slices.SortFunc(refs, func(a, b zoning.ZoneRef) int { return cmp.Compare(a.ID, b.ID) })
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	rec := &auditRecord{action: "zone.merge", entity: "zone", entityID: joinIDs(ids)}
	var newID int64
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, county_id FROM zones WHERE id = ANY ($1::bigint[])`, ids)
		if err != nil {
			return fmt.Errorf("look up zones: %w", err)
		}
		county := map[int64]int64{}
		for rows.Next() {
			var id, c int64
			if err := rows.Scan(&id, &c); err != nil {
				rows.Close()
				return fmt.Errorf("look up zones: %w", err)
			}
			county[id] = c
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("look up zones: %w", err)
		}
		for _, id := range ids {
			if _, ok := county[id]; !ok {
				return zoning.Errorf(zoning.ErrNotFound, "zone %d not found", id)
			}
			if county[id] != county[ids[0]] {
				return zoning.Errorf(zoning.ErrInvalid, "zones %d and %d are in different counties: only zones of one county can be merged", ids[0], id)
			}
		}
		if err := lockCounty(ctx, tx, county[ids[0]]); err != nil {
			return err
		}
		var states []zoneState
		var parents []zoning.ZoneVersion
		var before []map[string]any
		var m members
		var levels, names []string
		latest := time.Time{}
		for _, r := range refs {
			st, err := lockZone(ctx, tx, r.ID, false)
			if err != nil {
				return err
			}
			before = append(before, st.ref())
			rec.before = before
			if err := st.editable(r.Version); err != nil {
				return err
			}
			states = append(states, st)
			parents = append(parents, zoning.ZoneVersion{ZoneID: st.id, ClockStart: st.clock, ClockReason: st.clockReason})
			m.buildings = append(m.buildings, st.buildingIDs...)
			m.units = append(m.units, st.unitIDs...)
			levels = append(levels, st.level)
			names = append(names, st.name)
			if st.validFrom.After(latest) {
				latest = st.validFrom
			}
		}
		rules, err := loadRuleSet(ctx, tx, states[0].ruleSetID)
		if err != nil {
			return err
		}
		var base []byte
		if err := tx.QueryRow(ctx, query("zone_merge_union"), ids).Scan(&base); err != nil {
			return fmt.Errorf("union of zones %s: %w", joinIDs(ids), err)
		}
		c, err := zoneContent(ctx, tx, base, m.normalized())
		if err != nil {
			return err
		}
		clock, clockReason := zoning.MergeClock(parents)
		at := after(z.now(), latest)
		name := strings.TrimSpace(req.Name)
		if name == "" {
			name = strings.Join(names, "+")
		}
		if err := tx.QueryRow(ctx, `INSERT INTO zones (county_id, parent_zone_ids, current_version, status, created_at)
			VALUES ($1, $2, 1, 'active', $3) RETURNING id`, states[0].county, ids, at).Scan(&newID); err != nil {
			return fmt.Errorf("insert merged zone: %w", err)
		}
		if err := insertVersion(ctx, tx, versionRow{zoneID: newID, version: 1, level: zoning.MostSevereLevel(rules, levels),
			status: zoning.ZoneActive, change: zoning.ChangeMerge, name: name, rules: rules, c: c, clock: clock, clockReason: clockReason,
			validFrom: at, author: actorID(origin), reason: req.Reason}); err != nil {
			return err
		}
		for _, st := range states {
			if _, err := advance(ctx, tx, st, at, zoning.ZoneSuperseded, func(next int) error {
				return copyVersion(ctx, tx, st, next, zoning.ZoneSuperseded, zoning.ChangeMerge, st.clock, st.clockReason, at, actorID(origin),
					fmt.Sprintf("%s (merged into zone %d)", req.Reason, newID))
			}); err != nil {
				return err
			}
		}
		rec.after = map[string]any{"zone_id": newID, "version": 1, "parents": ids, "population": c.population}
		return nil
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return z.Get(ctx, newID)
}

// ---- screening and lifting -------------------------------------------------

// AddScreening records a screening round of an active zone. A round with
// positive results is a new infection on its date: when that is later than
// the zone's clock, the clock moves (a version with change extend).
func (z Zones) AddScreening(ctx context.Context, origin zoning.Origin, id int64, ns zoning.NewScreening) (zoning.Screening, error) {
	day, err := ns.Validate(z.today())
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
		if designated := zoning.DateOf(st.createdAt, z.loc()); day.Before(designated) {
			return zoning.Errorf(zoning.ErrInvalid, "round_date %s is before zone %d was designated (%s)", day, st.id, designated)
		}
		pop := st.population
		if ns.Population != nil {
			pop = *ns.Population
		}
		at := z.now()
		out = zoning.Screening{ZoneID: st.id, RoundDate: day, Population: pop, Tested: ns.Tested, Negatives: ns.Negatives,
			Positives: ns.Positives, RecordedBy: actorID(origin), RecordedAt: at}
		if err := tx.QueryRow(ctx, `INSERT INTO screenings (zone_id, round_date, population, tested, negatives, positives, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, st.id, day.Time, pop, ns.Tested, ns.Negatives, ns.Positives,
			actorID(origin), at).Scan(&out.ID); err != nil {
			return fmt.Errorf("insert screening: %w", err)
		}
		result := map[string]any{"screening_id": out.ID, "round_date": day, "population": pop, "tested": ns.Tested, "positives": ns.Positives}
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
	if _, err := z.zoneExists(ctx, id); err != nil {
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
	rows, err := q.Query(ctx, `SELECT id, zone_id, round_date, population, tested, negatives, positives, recorded_by, recorded_at
		FROM screenings WHERE zone_id = $1 ORDER BY round_date, id`, id)
	if err != nil {
		return nil, fmt.Errorf("list screenings of zone %d: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Screening, error) {
		var s zoning.Screening
		var d time.Time
		err := r.Scan(&s.ID, &s.ZoneID, &d, &s.Population, &s.Tested, &s.Negatives, &s.Positives, &s.RecordedBy, &s.RecordedAt)
		s.RoundDate = zoning.AsDate(d)
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
	return lifting(zn.ID, zn.CurrentVersion, zn.Status, rules, zn.Current.ClockStart, zn.Current.ClockReason, rounds, z.today()), nil
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
		ls := lifting(st.id, st.version, st.status, rules, st.clock, st.clockReason, rounds, z.today())
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
		return nil
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return z.Get(ctx, id)
}

// ---- counties --------------------------------------------------------------

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

// ---- new cases -------------------------------------------------------------

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

// ---- the pieces ------------------------------------------------------------

// auditRecord is what a write tells the audit log, also when it is refused.
type auditRecord struct {
	action, entity, entityID string
	before, after            any
}

// write runs fn in a transaction with its audit entry and layer bump. When
// fn refuses (a conflict, the second-person rule, a lift the rule does not
// allow), the refusal is audited in a transaction of its own.
func (z Zones) write(ctx context.Context, origin zoning.Origin, rec *auditRecord, fn func(pgx.Tx) error) error {
	tx, err := z.S.Pool.Begin(ctx)
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
		if aerr := WriteAudit(context.WithoutCancel(ctx), z.S.Pool, e); aerr != nil {
			return fmt.Errorf("%s was refused (%s) and the refusal could not be audited: %w", rec.action, zoning.Message(err), aerr)
		}
		return err
	}
	if err := zoningAudit(ctx, tx, origin, rec.action, rec.entity, rec.entityID, rec.before, rec.after); err != nil {
		return err
	}
	// Every lifecycle write bumps both layers the map draws (and NOTIFYs).
	if err := bumpLayers(ctx, tx, "zones", "proposals"); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit %s: %w", rec.action, err)
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
	var clock time.Time
	err := tx.QueryRow(ctx, `SELECT z.county_id, z.current_version, z.status, z.created_at, v.level, v.name, v.rule_set_id,
			v.building_ids, v.unit_ids, v.population, v.clock_start, v.clock_reason, v.valid_from,
			(SELECT f.author_id FROM zone_versions f WHERE f.zone_id = z.id AND f.version = 1)
		FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		WHERE z.id = $1
		FOR UPDATE OF z`, id).Scan(&st.county, &st.version, &st.status, &st.createdAt, &st.level, &st.name, &st.ruleSetID,
		&st.buildingIDs, &st.unitIDs, &st.population, &clock, &st.clockReason, &st.validFrom, &st.designatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, zoning.Errorf(zoning.ErrNotFound, "zone %d not found", id)
	}
	if err != nil {
		return st, fmt.Errorf("lock zone %d: %w", id, err)
	}
	st.clock = zoning.AsDate(clock)
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
	var levels []byte
	err := q.QueryRow(ctx, `SELECT id, name, edition, levels, clean_days, screening_required, staff_ratio, finest_granularity, default_level
		FROM rule_sets WHERE id = $1`, id).Scan(&r.ID, &r.Name, &r.Edition, &levels, &r.CleanDays, &r.ScreeningRequired,
		&r.StaffRatio, &r.FinestGranularity, &r.DefaultLevel)
	if err != nil {
		return r, fmt.Errorf("load rule set %s: %w", id, err)
	}
	if err := json.Unmarshal(levels, &r.Levels); err != nil {
		return r, fmt.Errorf("rule set %s levels: %w", id, err)
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

// checkGeometry checks a drawn geometry in PostGIS inside a savepoint:
// readable, a (Multi)Polygon in SRID 4326, valid (ST_IsValidReason says
// where it is not) and overlapping the county.
func checkGeometry(ctx context.Context, tx pgx.Tx, county int64, raw json.RawMessage) error {
	if err := zoning.CheckGeometryJSON(raw); err != nil {
		return err
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	defer sp.Rollback(ctx)
	var typ, reason string
	var srid int
	var empty, valid, inCounty bool
	err = sp.QueryRow(ctx, query("zone_geom_check"), string(raw), county).Scan(&typ, &srid, &empty, &valid, &reason, &inCounty)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return zoning.Errorf(zoning.ErrInvalid, "geometry: PostGIS cannot read it: %s", pgErr.Message)
	}
	if err != nil {
		return fmt.Errorf("check geometry: %w", err)
	}
	switch {
	case typ != "POLYGON" && typ != "MULTIPOLYGON":
		return zoning.Errorf(zoning.ErrInvalid, "geometry type %s: want Polygon or MultiPolygon", typ)
	case srid != 4326:
		return zoning.Errorf(zoning.ErrInvalid, "geometry in SRID %d: want WGS 84 lon/lat (EPSG:4326)", srid)
	case empty:
		return zoning.Errorf(zoning.ErrInvalid, "geometry is empty")
	case !valid:
		return zoning.Errorf(zoning.ErrInvalid, "geometry is not valid: %s", reason)
	case !inCounty:
		return zoning.Errorf(zoning.ErrInvalid, "geometry lies outside county %d: a zone must overlap its county", county)
	}
	return nil
}

// content is what a zone version covers.
type content struct {
	geom        []byte // EWKB
	buildingIDs []int64
	unitIDs     []int64
	population  int
	areaM2      float64
}

// members are the buildings (whole) and units of a zone; units may include
// those of whole buildings.
type members struct {
	buildings []int64
	units     []int64
}

func (m members) normalized() members {
	b := slices.Clone(m.buildings)
	slices.Sort(b)
	u := slices.Clone(m.units)
	slices.Sort(u)
	return members{buildings: slices.Compact(b), units: slices.Compact(u)}
}

// drawnContent applies the membership rule to a drawn geometry.
func drawnContent(ctx context.Context, tx pgx.Tx, county int64, raw json.RawMessage) (content, error) {
	if err := checkGeometry(ctx, tx, county, raw); err != nil {
		return content{}, err
	}
	var base []byte
	var in, out []int64
	if err := tx.QueryRow(ctx, query("zone_draw"), string(raw), county, zoning.MembershipShare()).Scan(&base, &in, &out); err != nil {
		return content{}, fmt.Errorf("members of the drawn geometry: %w", err)
	}
	if len(in) == 0 {
		return content{}, zoning.Errorf(zoning.ErrInvalid,
			"the geometry covers no building by at least %.0f%% of its footprint (the membership rule): a zone needs at least one building",
			100*zoning.MembershipShare())
	}
	return zoneContentCut(ctx, tx, base, members{buildings: in}, members{buildings: out})
}

func zoneContent(ctx context.Context, tx pgx.Tx, base []byte, m members) (content, error) {
	return zoneContentCut(ctx, tx, base, m, members{})
}

// zoneContentCut computes a version's content (sql/zone_content.sql).
func zoneContentCut(ctx context.Context, tx pgx.Tx, base []byte, in, out members) (content, error) {
	var c content
	var empty bool
	var pop int64
	nz := func(s []int64) []int64 {
		if s == nil {
			return []int64{}
		}
		return s
	}
	err := tx.QueryRow(ctx, query("zone_content"), base, nz(in.buildings), nz(in.units), nz(out.buildings), nz(out.units)).Scan(
		&c.geom, &empty, &c.areaM2, &c.buildingIDs, &c.unitIDs, &pop)
	if err != nil {
		return c, fmt.Errorf("zone content: %w", err)
	}
	c.population = int(pop)
	if len(c.buildingIDs) == 0 && len(c.unitIDs) == 0 {
		return c, zoning.Errorf(zoning.ErrInvalid, "the zone would hold no building or unit: lift it instead")
	}
	if empty {
		return c, zoning.Errorf(zoning.ErrInvalid, "the zone's geometry would be empty")
	}
	return c, nil
}

// checkExclusive refuses content that holds a building or unit of another
// active zone (other than the zones in except).
func checkExclusive(ctx context.Context, tx pgx.Tx, c content, except []int64) error {
	if except == nil {
		except = []int64{}
	}
	rows, err := tx.Query(ctx, query("zone_overlap"), c.buildingIDs, c.unitIDs, except)
	if err != nil {
		return fmt.Errorf("check members against active zones: %w", err)
	}
	type clash struct {
		zone             int64
		version          int
		buildings, units []int64
	}
	clashes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (clash, error) {
		var c clash
		return c, r.Scan(&c.zone, &c.version, &c.buildings, &c.units)
	})
	if err != nil {
		return fmt.Errorf("check members against active zones: %w", err)
	}
	if len(clashes) == 0 {
		return nil
	}
	var parts []string
	for _, c := range clashes {
		what := ""
		if len(c.buildings) > 0 {
			what = "buildings " + joinIDs(firstN(c.buildings, 10))
		} else {
			what = "units " + joinIDs(firstN(c.units, 10))
		}
		parts = append(parts, fmt.Sprintf("%s already in active zone %d (version %d)", what, c.zone, c.version))
	}
	return zoning.Errorf(zoning.ErrConflict, "a building or unit is in one active zone at most: %s; merge the zones, or remove them from one of them first",
		strings.Join(parts, "; "))
}

// applyMemberChange applies a member change to a zone's (or proposal's)
// members in county (see zoning.MemberChange): it returns the new members
// and the removed ones, whose footprints are cut out of the old geometry.
// Unknown ids, ids of another county and changes that change nothing are
// refused.
func applyMemberChange(ctx context.Context, tx pgx.Tx, county int64, curB, curU []int64, ch zoning.MemberChange) (in, out members, err error) {
	// The buildings of the units named.
	unitBuilding := map[int64]int64{}
	named := append(slices.Clone(ch.AddUnits), ch.RemoveUnits...)
	if len(named) > 0 {
		rows, err := tx.Query(ctx, `SELECT id, building_id FROM units WHERE id = ANY ($1::bigint[])`, named)
		if err != nil {
			return members{}, members{}, fmt.Errorf("look up units: %w", err)
		}
		for rows.Next() {
			var u, b int64
			if err := rows.Scan(&u, &b); err != nil {
				rows.Close()
				return members{}, members{}, fmt.Errorf("look up units: %w", err)
			}
			unitBuilding[u] = b
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return members{}, members{}, fmt.Errorf("look up units: %w", err)
		}
		for _, u := range named {
			if _, ok := unitBuilding[u]; !ok {
				return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "unknown unit %d", u)
			}
		}
	}
	// The buildings named or holding the units named: in the county? units?
	involved := append(slices.Clone(ch.AddBuildings), ch.RemoveBuildings...)
	for _, b := range unitBuilding {
		involved = append(involved, b)
	}
	type bInfo struct {
		inCounty bool
		units    []int64
	}
	info := map[int64]bInfo{}
	if len(involved) > 0 {
		rows, err := tx.Query(ctx, `SELECT b.id,
				b.county_id = $2 OR (b.county_id IS NULL AND EXISTS (SELECT 1 FROM admin_areas a WHERE a.id = $2 AND ST_Intersects(a.geom, b.geom))),
				coalesce((SELECT array_agg(u.id ORDER BY u.id) FROM units u WHERE u.building_id = b.id), '{}')
			FROM buildings b WHERE b.id = ANY ($1::bigint[])`, involved, county)
		if err != nil {
			return members{}, members{}, fmt.Errorf("look up buildings: %w", err)
		}
		for rows.Next() {
			var id int64
			var bi bInfo
			if err := rows.Scan(&id, &bi.inCounty, &bi.units); err != nil {
				rows.Close()
				return members{}, members{}, fmt.Errorf("look up buildings: %w", err)
			}
			info[id] = bi
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return members{}, members{}, fmt.Errorf("look up buildings: %w", err)
		}
	}
	for _, b := range append(slices.Clone(ch.AddBuildings), ch.RemoveBuildings...) {
		if _, ok := info[b]; !ok {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "unknown building %d", b)
		}
	}
	for _, b := range ch.AddBuildings {
		if !info[b].inCounty {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "building %d is not in county %d", b, county)
		}
	}
	for _, u := range ch.AddUnits {
		if !info[unitBuilding[u]].inCounty {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "unit %d (building %d) is not in county %d", u, unitBuilding[u], county)
		}
	}
	B, U := map[int64]bool{}, map[int64]bool{}
	for _, b := range curB {
		B[b] = true
	}
	for _, u := range curU {
		U[u] = true
	}
	for _, b := range ch.AddBuildings {
		if B[b] {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "building %d is already in the zone", b)
		}
		B[b] = true
		for _, u := range info[b].units {
			U[u] = true
		}
	}
	for _, b := range ch.RemoveBuildings {
		in := B[b]
		for _, u := range info[b].units {
			in = in || U[u]
		}
		if !in {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "building %d is not in the zone", b)
		}
		delete(B, b)
		for _, u := range info[b].units {
			delete(U, u)
		}
	}
	for _, u := range ch.AddUnits {
		if U[u] {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "unit %d is already in the zone", u)
		}
		U[u] = true
	}
	for _, u := range ch.RemoveUnits {
		if !U[u] {
			return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "unit %d is not in the zone", u)
		}
		delete(U, u)
		delete(B, unitBuilding[u]) // the building is no longer wholly in
	}
	// A building all of whose units are now members is a member.
	for _, u := range ch.AddUnits {
		b := unitBuilding[u]
		all := len(info[b].units) > 0
		for _, x := range info[b].units {
			all = all && U[x]
		}
		if all {
			B[b] = true
		}
	}
	var m members
	for b := range B {
		m.buildings = append(m.buildings, b)
	}
	for u := range U {
		m.units = append(m.units, u)
	}
	m = m.normalized()
	if len(m.buildings) == 0 && len(m.units) == 0 {
		return members{}, members{}, zoning.Errorf(zoning.ErrInvalid, "the zone would hold no building or unit: lift it instead")
	}
	return m, members{buildings: slices.Clone(ch.RemoveBuildings), units: slices.Clone(ch.RemoveUnits)}.normalized(), nil
}

// splitParts clips the parts of a split to the zone and refuses parts that
// miss it or overlap each other.
func splitParts(ctx context.Context, tx pgx.Tx, zoneID int64, zoneGeom []byte, parts []byte) ([][]byte, error) {
	rows, err := tx.Query(ctx, query("zone_split_parts"), zoneGeom, parts)
	if err != nil {
		return nil, fmt.Errorf("clip parts: %w", err)
	}
	type part struct {
		n        int
		geom     []byte
		area     float64
		overlapN int
		overlap  float64
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (part, error) {
		var p part
		return p, r.Scan(&p.n, &p.geom, &p.area, &p.overlapN, &p.overlap)
	})
	if err != nil {
		return nil, fmt.Errorf("clip parts: %w", err)
	}
	out := make([][]byte, len(ps))
	for i, p := range ps {
		if p.area < 1 {
			return nil, zoning.Errorf(zoning.ErrInvalid, "part %d does not overlap zone %d", p.n, zoneID)
		}
		// Parts drawn along a shared edge may overlap by a sliver.
		if p.overlap > 1 {
			return nil, zoning.Errorf(zoning.ErrInvalid, "parts %d and %d overlap by %.0f m² inside zone %d: parts must not overlap", p.n, p.overlapN, p.overlap, zoneID)
		}
		out[i] = p.geom
	}
	return out, nil
}

// assignment is the members of each part of a split.
type assignment struct {
	parts []members
	all   members // partial units of the zone in all.units
}

func (a assignment) partialUnits() []int64 { return a.all.units }

// assignToParts gives every member of the zone to one part.
func assignToParts(ctx context.Context, tx pgx.Tx, st zoneState, parts [][]byte) (assignment, error) {
	rows, err := tx.Query(ctx, query("zone_split_assign"), parts, st.buildingIDs, st.unitIDs, zoning.MembershipShare())
	if err != nil {
		return assignment{}, fmt.Errorf("assign members to parts: %w", err)
	}
	a := assignment{parts: make([]members, len(parts))}
	var lost []string
	for rows.Next() {
		var kind string
		var id int64
		var part int
		var share float64
		if err := rows.Scan(&kind, &id, &part, &share); err != nil {
			rows.Close()
			return a, fmt.Errorf("assign members to parts: %w", err)
		}
		if kind == "unit" {
			a.all.units = append(a.all.units, id)
		}
		if part == 0 {
			lost = append(lost, fmt.Sprintf("%s %d (at most %.0f%% in one part)", kind, id, 100*share))
			continue
		}
		if kind == "building" {
			a.parts[part-1].buildings = append(a.parts[part-1].buildings, id)
		} else {
			a.parts[part-1].units = append(a.parts[part-1].units, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return a, fmt.Errorf("assign members to parts: %w", err)
	}
	if len(lost) > 0 {
		return a, zoning.Errorf(zoning.ErrInvalid, "no part covers at least %.0f%% of %s: draw the parts so that every member of zone %d falls in one",
			100*zoning.MembershipShare(), strings.Join(firstN(lost, 5), ", "), st.id)
	}
	for i, m := range a.parts {
		if len(m.buildings) == 0 && len(m.units) == 0 {
			return a, zoning.Errorf(zoning.ErrInvalid, "part %d holds no building or unit of zone %d", i+1, st.id)
		}
	}
	return a, nil
}

func without(all, drop []int64) []int64 {
	out := []int64{}
	for _, x := range all {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

func firstN[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}
