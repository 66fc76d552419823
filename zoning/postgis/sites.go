package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// Sites stores quarantine sites and assigns contacts to them (restricted;
// zoning/sites.go has the rules).
type Sites struct {
	S *Store
}

// MaxSitesBatch is the most sites one request registers.
const MaxSitesBatch = 2000

const siteColumns = `s.id, s.county_id, s.name, s.address, s.rooms, s.occupied, s.staff, ST_X(s.geom), ST_Y(s.geom), s.active, s.updated_at,
	(SELECT count(*) FROM contacts c WHERE c.site_id = s.id)::int`

func scanSite(row pgx.Row) (zoning.Site, error) {
	var s zoning.Site
	err := row.Scan(&s.ID, &s.CountyID, &s.Name, &s.Address, &s.Rooms, &s.Occupied, &s.Staff, &s.Lon, &s.Lat, &s.Active, &s.Updated, &s.Assigned)
	s.Free = max(0, s.Rooms-s.Occupied-s.Assigned)
	return s, err
}

func listSites(ctx context.Context, q querier, county int64, lock bool) ([]zoning.Site, error) {
	sql := `SELECT ` + siteColumns + ` FROM quarantine_sites s WHERE s.county_id = $1 ORDER BY s.id`
	if lock {
		sql += ` FOR UPDATE OF s`
	}
	rows, err := q.Query(ctx, sql, county)
	if err != nil {
		return nil, fmt.Errorf("sites of county %d: %w", county, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Site, error) { return scanSite(r) })
	if err != nil {
		return nil, fmt.Errorf("sites of county %d: %w", county, err)
	}
	return out, nil
}

// Put registers sites, updating those of the same county and name, in one
// transaction, and answers them as written.
func (ss Sites) Put(ctx context.Context, origin zoning.Origin, list []zoning.NewSite) ([]zoning.Site, error) {
	if len(list) == 0 {
		return nil, zoning.Errorf(zoning.ErrInvalid, "no sites given")
	}
	if len(list) > MaxSitesBatch {
		return nil, zoning.Errorf(zoning.ErrTooLarge, "%d sites in one request: at most %d", len(list), MaxSitesBatch)
	}
	for i, s := range list {
		if err := s.Validate(); err != nil {
			return nil, siteRow(len(list), i, err)
		}
	}
	rec := &auditRecord{action: "site.put", entity: "quarantine_site"}
	var out []zoning.Site
	err := auditedWrite(ctx, ss.S, origin, rec, func(tx pgx.Tx) error {
		var ids []int64
		for i, s := range list {
			if err := checkCounty(ctx, tx, s.CountyID); err != nil {
				return siteRow(len(list), i, err)
			}
			var id int64
			var assigned int
			err := tx.QueryRow(ctx, `
				INSERT INTO quarantine_sites (county_id, name, address, rooms, occupied, staff, geom, updated_by)
				VALUES ($1, $2, $3, $4, $5, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326), $9)
				ON CONFLICT (county_id, name) DO UPDATE SET address = EXCLUDED.address, rooms = EXCLUDED.rooms,
					occupied = EXCLUDED.occupied, staff = EXCLUDED.staff, geom = EXCLUDED.geom,
					updated_by = EXCLUDED.updated_by, updated_at = now()
				RETURNING id, (SELECT count(*) FROM contacts c WHERE c.site_id = quarantine_sites.id)::int`,
				s.CountyID, s.Name, s.Address, s.Rooms, s.Occupied, s.Staff, s.Lon, s.Lat, actorID(origin)).Scan(&id, &assigned)
			if err != nil {
				return siteRow(len(list), i, fmt.Errorf("put site %s: %w", s.Name, err))
			}
			if s.Occupied+assigned > s.Rooms {
				return siteRow(len(list), i, zoning.Errorf(zoning.ErrConflict, "site %s: %d rooms cannot hold %d occupied and %d assigned contacts: move contacts first",
					s.Name, s.Rooms, s.Occupied, assigned))
			}
			ids = append(ids, id)
		}
		rec.entityID = idList(ids)
		rec.after = map[string]any{"count": len(ids)}
		rows, err := tx.Query(ctx, `SELECT `+siteColumns+` FROM quarantine_sites s WHERE s.id = ANY ($1) ORDER BY s.id`, ids)
		if err != nil {
			return fmt.Errorf("read sites: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Site, error) { return scanSite(r) })
		return err
	}, nil, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func siteRow(n, i int, err error) error {
	if n <= 1 {
		return err
	}
	if k := zoning.Kind(err); k != nil {
		return zoning.Errorf(k, "site %d: %s", i+1, zoning.Message(err))
	}
	return fmt.Errorf("site %d: %w", i+1, err)
}

// Edit changes a site's rooms, occupancy, staff or state and answers it as
// written.
func (ss Sites) Edit(ctx context.Context, origin zoning.Origin, id int64, e zoning.SiteEdit) (zoning.Site, error) {
	origin.Reason = e.Reason
	rec := &auditRecord{action: "site.edit", entity: "quarantine_site", entityID: strconv.FormatInt(id, 10)}
	var out zoning.Site
	err := auditedWrite(ctx, ss.S, origin, rec, func(tx pgx.Tx) error {
		before, err := scanSite(tx.QueryRow(ctx, `SELECT `+siteColumns+` FROM quarantine_sites s WHERE s.id = $1 FOR UPDATE OF s`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no quarantine site with id %d", id)
		}
		if err != nil {
			return fmt.Errorf("load site %d: %w", id, err)
		}
		rec.before = before
		edited, err := e.Apply(before)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE quarantine_sites SET rooms = $2, occupied = $3, staff = $4, active = $5, updated_by = $6, updated_at = now()
			WHERE id = $1`, id, edited.Rooms, edited.Occupied, edited.Staff, edited.Active, actorID(origin)); err != nil {
			return fmt.Errorf("edit site %d: %w", id, err)
		}
		if out, err = scanSite(tx.QueryRow(ctx, `SELECT `+siteColumns+` FROM quarantine_sites s WHERE s.id = $1`, id)); err != nil {
			return fmt.Errorf("read site %d: %w", id, err)
		}
		rec.after = out
		return nil
	}, nil, nil)
	if err != nil {
		return zoning.Site{}, err
	}
	return out, nil
}

// Overview lists a county's sites with the standard's comparison.
func (ss Sites) Overview(ctx context.Context, county int64) (zoning.CountyRooms, []zoning.Site, error) {
	var residents, per10k int
	err := ss.S.Pool.QueryRow(ctx, `SELECT
			coalesce((SELECT sum(b.population) FROM buildings b WHERE b.county_id = a.id), 0)::int,
			r.quarantine_rooms_per_10k
		FROM admin_areas a JOIN rule_sets r ON r.id = coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default))
		WHERE a.id = $1 AND a.level = 'county'`, county).Scan(&residents, &per10k)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.CountyRooms{}, nil, zoning.Errorf(zoning.ErrNotFound, "no county with id %d", county)
	}
	if err != nil {
		return zoning.CountyRooms{}, nil, fmt.Errorf("residents of county %d: %w", county, err)
	}
	sites, err := listSites(ctx, ss.S.Pool, county, false)
	if err != nil {
		return zoning.CountyRooms{}, nil, err
	}
	return zoning.Summarise(county, residents, per10k, sites), sites, nil
}

// AssignResult is what an automatic assignment did.
type AssignResult struct {
	Assigned []zoning.Assignment `json:"assigned"`
	// Waiting are the contacts no site had a room for.
	Waiting []int64 `json:"waiting"`
}

// Assign puts the county's contacts without a site, in the order they
// were identified, into the nearest site with a free room. Contacts an
// expert placed by hand, or took out of a site, are never moved.
func (ss Sites) Assign(ctx context.Context, origin zoning.Origin, county int64) (AssignResult, error) {
	rec := &auditRecord{action: "site.assign", entity: "county", entityID: strconv.FormatInt(county, 10)}
	var out AssignResult
	err := auditedWrite(ctx, ss.S, origin, rec, func(tx pgx.Tx) error {
		if err := checkCounty(ctx, tx, county); err != nil {
			return err
		}
		sites, err := listSites(ctx, tx, county, true)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT c.id, ST_X(p.geom), ST_Y(p.geom) FROM contacts c
			CROSS JOIN LATERAL (SELECT coalesce(c.residence_point,
				(SELECT ST_PointOnSurface(b.geom) FROM buildings b WHERE b.id = coalesce(c.residence_building_id,
					(SELECT u.building_id FROM units u WHERE u.id = c.residence_unit_id)))) AS geom) p
			WHERE c.county_id = $1 AND c.site_id IS NULL AND NOT c.site_manual ORDER BY c.identified_at, c.id FOR UPDATE OF c`, county)
		if err != nil {
			return fmt.Errorf("contacts waiting for a site: %w", err)
		}
		in, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.AssignInput, error) {
			var a zoning.AssignInput
			err := r.Scan(&a.ContactID, &a.Lon, &a.Lat)
			return a, err
		})
		if err != nil {
			return fmt.Errorf("contacts waiting for a site: %w", err)
		}
		out.Assigned, out.Waiting = zoning.AssignSites(in, sites)
		for _, a := range out.Assigned {
			if _, err := tx.Exec(ctx, `UPDATE contacts SET site_id = $2, site_manual = false, site_assigned_at = now() WHERE id = $1`, a.ContactID, a.SiteID); err != nil {
				return fmt.Errorf("assign contact %d: %w", a.ContactID, err)
			}
		}
		if out.Assigned == nil {
			out.Assigned = []zoning.Assignment{}
		}
		if out.Waiting == nil {
			out.Waiting = []int64{}
		}
		rec.after = map[string]any{"assigned": len(out.Assigned), "waiting": len(out.Waiting)}
		return nil
	}, nil, nil)
	if err != nil {
		return AssignResult{}, err
	}
	return out, nil
}

// Place puts contact id into site by hand (or takes it out with site 0):
// the site must be active, in the contact's county, with a free room.
func (ss Sites) Place(ctx context.Context, origin zoning.Origin, id, site int64, reason string) (zoning.Contact, error) {
	if len(reason) > zoning.MaxReasonLength {
		return zoning.Contact{}, zoning.Errorf(zoning.ErrInvalid, "reason is longer than %d bytes", zoning.MaxReasonLength)
	}
	origin.Reason = reason
	rec := &auditRecord{action: "site.place", entity: "contact", entityID: strconv.FormatInt(id, 10)}
	cs := Contacts{S: ss.S}
	var out zoning.Contact
	err := auditedWrite(ctx, ss.S, origin, rec, func(tx pgx.Tx) error {
		var county int64
		var cur *int64
		err := tx.QueryRow(ctx, `SELECT county_id, site_id FROM contacts WHERE id = $1 FOR UPDATE`, id).Scan(&county, &cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no contact with id %d", id)
		}
		if err != nil {
			return fmt.Errorf("load contact %d: %w", id, err)
		}
		rec.before = map[string]any{"site_id": cur}
		if site == 0 {
			_, err = tx.Exec(ctx, `UPDATE contacts SET site_id = NULL, site_manual = true, site_assigned_at = NULL WHERE id = $1`, id)
		} else {
			s, err := scanSite(tx.QueryRow(ctx, `SELECT `+siteColumns+` FROM quarantine_sites s WHERE s.id = $1 FOR UPDATE OF s`, site))
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				return zoning.Errorf(zoning.ErrInvalid, "no quarantine site with id %d", site)
			case err != nil:
				return fmt.Errorf("load site %d: %w", site, err)
			case s.CountyID != county:
				return zoning.Errorf(zoning.ErrInvalid, "site %d is in another county", site)
			case !s.Active:
				return zoning.Errorf(zoning.ErrConflict, "site %s is closed", s.Name)
			case cur != nil && *cur == site:
				return zoning.Errorf(zoning.ErrConflict, "contact %d is in site %s already", id, s.Name)
			case s.Free <= 0:
				return zoning.Errorf(zoning.ErrConflict, "site %s has no free room (%d rooms, %d occupied, %d assigned)", s.Name, s.Rooms, s.Occupied, s.Assigned)
			}
			_, err = tx.Exec(ctx, `UPDATE contacts SET site_id = $2, site_manual = true, site_assigned_at = now() WHERE id = $1`, id, site)
			if err != nil {
				return fmt.Errorf("place contact %d: %w", id, err)
			}
		}
		if err != nil {
			return fmt.Errorf("place contact %d: %w", id, err)
		}
		rec.after = map[string]any{"site_id": site}
		got, err := cs.getMany(ctx, tx, []int64{id}, cs.now())
		if err != nil {
			return err
		}
		out = got[0]
		return nil
	}, nil, nil)
	if err != nil {
		return zoning.Contact{}, err
	}
	return out, nil
}
