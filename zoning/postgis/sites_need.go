package postgis

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// MaxSiteOptions is how many nearby sites a quarantine need lists.
const MaxSiteOptions = 5

// QuarantineNeed answers what proposal or zone id (kind "proposal" or
// "zone": the current version) asks of the quarantine sites of its county.
// The contacts counted are those registered for the cases living in its
// buildings or units, and the secondary contacts of those; its cases with
// none registered yet are expected to bring the county's mean so far.
func (ss Sites) QuarantineNeed(ctx context.Context, kind string, id int64) (zoning.QuarantineNeed, error) {
	var from string
	switch kind {
	case "proposal":
		from = `SELECT p.county_id, p.geom, p.building_ids, p.unit_ids, p.population, p.staff_required FROM proposals p WHERE p.id = $1`
	case "zone":
		from = `SELECT z.county_id, v.geom, v.building_ids, v.unit_ids, v.population, v.staff_required
			FROM zones z JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version WHERE z.id = $1`
	default:
		return zoning.QuarantineNeed{}, fmt.Errorf("quarantine need of a %q", kind)
	}
	var q zoning.QuarantineNeed
	var county int64
	err := ss.S.Pool.QueryRow(ctx, `
		WITH a AS (`+from+`),
		     k AS (SELECT c.id FROM cases c, a WHERE c.county_id = a.county_id
		           AND (c.residence_building_id = ANY (a.building_ids) OR c.residence_unit_id = ANY (a.unit_ids))),
		     m AS (SELECT t.id, t.site_id FROM contacts t WHERE t.case_id IN (SELECT id FROM k)),
		     n AS (SELECT t.id, t.site_id FROM contacts t WHERE t.via_contact_id IN (SELECT id FROM m)),
		     allc AS (SELECT * FROM m UNION ALL SELECT * FROM n),
		     -- the county's contacts (close and secondary) per case that has any
		     cc AS (SELECT t.id, coalesce(t.case_id, v.case_id) AS case_id FROM contacts t
		            LEFT JOIN contacts v ON v.id = t.via_contact_id, a WHERE t.county_id = a.county_id)
		SELECT a.county_id, a.population, a.staff_required, (SELECT count(*) FROM k)::int,
			(SELECT count(*) FROM allc)::int, (SELECT count(*) FROM allc WHERE site_id IS NOT NULL)::int,
			(SELECT count(*) FROM k WHERE NOT EXISTS (SELECT 1 FROM contacts t WHERE t.case_id = k.id))::int,
			coalesce((SELECT count(*)::float8 / nullif(count(DISTINCT case_id), 0) FROM cc), 0),
			(SELECT r.quarantine_rooms_per_staff FROM admin_areas x JOIN rule_sets r
			   ON r.id = coalesce(x.rule_set_id, (SELECT id FROM rule_sets WHERE is_default)) WHERE x.id = a.county_id)
		FROM a`, id).Scan(&county, &q.Residents, &q.StaffRequired, &q.Cases, &q.Contacts, &q.Placed, &q.CasesWithout, &q.ContactsPerCase, &q.RoomsPerStaff)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.QuarantineNeed{}, zoning.Errorf(zoning.ErrNotFound, "no %s with id %d", kind, id)
	}
	if err != nil {
		return zoning.QuarantineNeed{}, fmt.Errorf("quarantine need of %s %d: %w", kind, id, err)
	}
	rows, err := ss.S.Pool.Query(ctx, `
		WITH a AS (`+from+`)
		SELECT `+siteColumns+`, ST_Distance(s.geom::geography, ST_PointOnSurface(a.geom)::geography)
		FROM quarantine_sites s, a
		WHERE s.county_id = a.county_id AND s.active
		  AND s.rooms - s.occupied - (SELECT count(*) FROM contacts c WHERE c.site_id = s.id) > 0
		ORDER BY s.geom::geography <-> ST_PointOnSurface(a.geom)::geography, s.id LIMIT $2`, id, MaxSiteOptions)
	if err != nil {
		return zoning.QuarantineNeed{}, fmt.Errorf("sites near %s %d: %w", kind, id, err)
	}
	q.Sites, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.SiteOption, error) {
		var o zoning.SiteOption
		err := r.Scan(&o.ID, &o.CountyID, &o.Name, &o.Address, &o.Rooms, &o.Occupied, &o.Staff, &o.Lon, &o.Lat, &o.Active, &o.Updated, &o.Assigned, &o.DistanceM)
		o.Free = max(0, o.Rooms-o.Occupied-o.Assigned)
		return o, err
	})
	if err != nil {
		return zoning.QuarantineNeed{}, fmt.Errorf("sites near %s %d: %w", kind, id, err)
	}
	q.Complete()
	return q, nil
}
