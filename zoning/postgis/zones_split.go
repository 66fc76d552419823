package postgis

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// Split splits an active zone into parts (see zoning.SplitRequest). Each
// part becomes a new active zone, version 1 (change split), whose clock is
// recomputed from its own members' counted cases ("一区一策", never before
// the parent's designation; a positive round of the parent counts for every
// part) and runs on its own from then on; the parent gets a closing version
// with status superseded.
func (z Zones) Split(ctx context.Context, origin zoning.Origin, id int64, req zoning.SplitRequest) ([]zoning.Zone, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	origin.Reason = req.Reason
	rec := &auditRecord{action: "zone.split", entity: "zone", entityID: strconv.FormatInt(id, 10)}
	var partIDs []int64
	var out []zoning.Zone
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
			// 一区一策: each part's clock is that of its own members' cases
			// (never before the parent's designation).
			clock, own, err := memberClock(ctx, tx, st.county, st.id, st.designatedOn, members{buildings: c.buildingIDs, units: c.unitIDs})
			if err != nil {
				return fmt.Errorf("part %d: %w", i+1, err)
			}
			var pid int64
			if err := tx.QueryRow(ctx, `INSERT INTO zones (county_id, proposal_id, parent_zone_ids, current_version, status, created_at, designated_on)
				VALUES ($1, NULL, $2, 1, 'active', $3, $4) RETURNING id`, st.county, []int64{st.id}, at, st.designatedOn.Time).Scan(&pid); err != nil {
				return fmt.Errorf("insert part %d: %w", i+1, err)
			}
			why := fmt.Sprintf("split from zone %d (version %d); the part's own clock: %s", st.id, st.version, own)
			if err := insertVersion(ctx, tx, versionRow{zoneID: pid, version: 1, level: st.level, status: zoning.ZoneActive,
				change: zoning.ChangeSplit, name: name, rules: rules, c: c, clock: clock, clockReason: why,
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
		out = make([]zoning.Zone, 0, len(partIDs))
		for _, pid := range partIDs {
			zn, err := getZone(ctx, tx, pid)
			if err != nil {
				return err
			}
			out = append(out, zn)
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	var out zoning.Zone
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
		// The merged zone's designation floor is the latest of its parents':
		// a later recompute never starts a part's clock before it was zoned.
		var designated zoning.Date
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
			if st.designatedOn.After(designated) {
				designated = st.designatedOn
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
		if err := tx.QueryRow(ctx, `INSERT INTO zones (county_id, parent_zone_ids, current_version, status, created_at, designated_on)
			VALUES ($1, $2, 1, 'active', $3, $4) RETURNING id`, states[0].county, ids, at, designated.Time).Scan(&newID); err != nil {
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
		out, err = getZone(ctx, tx, newID)
		return err
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return out, nil
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
