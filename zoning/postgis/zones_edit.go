package postgis

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// ReplaceGeometry replaces an active zone's geometry (version e.Version must
// be current). Members follow the membership rule (zoning.MembershipShare)
// and the saved geometry is adjusted so that no building is cut. Like every
// adjust, it recomputes the zone's clock from the new members (memberClock).
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
	var out zoning.Zone
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
		// The clock follows the new member set: a removed building takes
		// its cases' report dates out, an added one brings them in.
		clock, why, err := memberClock(ctx, tx, st.county, st.id, st.designatedOn, members{buildings: c.buildingIDs, units: c.unitIDs})
		if err != nil {
			return err
		}
		why = "recomputed for the adjusted members: " + why
		at := after(z.now(), st.validFrom)
		next, err := advance(ctx, tx, st, at, zoning.ZoneActive, func(next int) error {
			return insertVersion(ctx, tx, versionRow{zoneID: st.id, version: next, level: st.level, status: zoning.ZoneActive,
				change: zoning.ChangeAdjust, name: st.name, rules: rules, c: c, clock: clock, clockReason: why,
				validFrom: at, author: actorID(origin), reason: reason})
		})
		if err != nil {
			return err
		}
		rec.after = map[string]any{"zone_id": st.id, "version": next, "change": zoning.ChangeAdjust, "buildings": len(c.buildingIDs),
			"units": len(c.unitIDs), "population": c.population, "clock_start": clock}
		out, err = getZone(ctx, tx, id)
		return err
	})
	if err != nil {
		return zoning.Zone{}, err
	}
	return out, nil
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
