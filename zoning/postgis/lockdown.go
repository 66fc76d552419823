package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// Lockdowns reads and manages compounds under lockdown and their entrances
// (zoning/lockdown.go has the rules). Restricted: entrances and their staff
// are operational data.
type Lockdowns struct {
	S *Store
}

const entranceColumns = `e.id, e.compound_id, e.name, e.kind, e.source, coalesce(e.source_id, ''), ST_X(e.geom), ST_Y(e.geom), e.state, e.staff, e.updated_at`

func scanEntrance(row pgx.Row) (zoning.Entrance, error) {
	var e zoning.Entrance
	err := row.Scan(&e.ID, &e.CompoundID, &e.Name, &e.Kind, &e.Source, &e.SourceID, &e.Lon, &e.Lat, &e.State, &e.Staff, &e.UpdatedAt)
	return e, err
}

// lockdown reads compound id with its buildings, residents, the staff its
// county's rule set asks for them, and its entrances.
func lockdown(ctx context.Context, q querier, id int64) (zoning.CompoundLockdown, error) {
	var l zoning.CompoundLockdown
	var ratio *int
	err := q.QueryRow(ctx, `
		SELECT c.id, c.name, ST_XMin(c.geom), ST_YMin(c.geom), ST_XMax(c.geom), ST_YMax(c.geom), count(b.id)::int, coalesce(sum(b.population), 0)::int,
			(SELECT r.staff_ratio FROM admin_areas a JOIN rule_sets r ON r.id = coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default))
			 WHERE a.id = min(b.county_id))
		FROM compounds c LEFT JOIN buildings b ON b.compound_id = c.id
		WHERE c.id = $1 GROUP BY c.id`, id).Scan(&l.CompoundID, &l.Name, &l.BBox[0], &l.BBox[1], &l.BBox[2], &l.BBox[3], &l.Buildings, &l.Residents, &ratio)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, zoning.Errorf(zoning.ErrNotFound, "no compound with id %d", id)
	}
	if err != nil {
		return l, fmt.Errorf("load compound %d: %w", id, err)
	}
	if ratio != nil && *ratio > 0 {
		l.StaffRequired = zoning.RuleSet{StaffRatio: *ratio}.StaffRequired(l.Residents)
	}
	rows, err := q.Query(ctx, `SELECT `+entranceColumns+` FROM compound_entrances e WHERE e.compound_id = $1 ORDER BY e.id`, id)
	if err != nil {
		return l, fmt.Errorf("entrances of compound %d: %w", id, err)
	}
	if l.Entrances, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.Entrance, error) { return scanEntrance(r) }); err != nil {
		return l, fmt.Errorf("entrances of compound %d: %w", id, err)
	}
	l.Assess()
	return l, nil
}

// Get answers compound id as a lockdown sees it.
func (ls Lockdowns) Get(ctx context.Context, id int64) (zoning.CompoundLockdown, error) {
	return lockdown(ctx, ls.S.Pool, id)
}

// OfZone answers the compounds with buildings in zone id's current version.
func (ls Lockdowns) OfZone(ctx context.Context, zone int64) ([]zoning.CompoundLockdown, error) {
	var exists bool
	rows, err := ls.S.Pool.Query(ctx, `SELECT DISTINCT b.compound_id, true FROM zones z
		JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
		LEFT JOIN buildings b ON b.id = ANY (v.building_ids)
		WHERE z.id = $1 ORDER BY 1`, zone)
	if err != nil {
		return nil, fmt.Errorf("compounds of zone %d: %w", zone, err)
	}
	var ids []int64
	for rows.Next() {
		var id *int64
		if err := rows.Scan(&id, &exists); err != nil {
			rows.Close()
			return nil, fmt.Errorf("compounds of zone %d: %w", zone, err)
		}
		if id != nil {
			ids = append(ids, *id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compounds of zone %d: %w", zone, err)
	}
	if !exists {
		return nil, zoning.Errorf(zoning.ErrNotFound, "no zone with id %d", zone)
	}
	out := []zoning.CompoundLockdown{}
	for _, id := range ids {
		l, err := lockdown(ctx, ls.S.Pool, id)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// AddEntrance draws an entrance of compound id, at most
// zoning.MaxEntranceDistanceM from its outline, and answers the compound.
func (ls Lockdowns) AddEntrance(ctx context.Context, origin zoning.Origin, id int64, e zoning.NewEntrance) (zoning.CompoundLockdown, error) {
	if err := e.Validate(); err != nil {
		return zoning.CompoundLockdown{}, err
	}
	origin.Reason = e.Reason
	rec := &auditRecord{action: "entrance.add", entity: "compound", entityID: strconv.FormatInt(id, 10)}
	var out zoning.CompoundLockdown
	err := auditedWrite(ctx, ls.S, origin, rec, func(tx pgx.Tx) error {
		var dist *float64
		err := tx.QueryRow(ctx, `SELECT ST_Distance(ST_Boundary(geom)::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography)
			FROM compounds WHERE id = $1 FOR UPDATE`, id, e.Lon, e.Lat).Scan(&dist)
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no compound with id %d", id)
		}
		if err != nil {
			return fmt.Errorf("compound %d: %w", id, err)
		}
		if dist == nil || *dist > zoning.MaxEntranceDistanceM {
			return zoning.Errorf(zoning.ErrInvalid, "the entrance is %.0f m from the compound's outline: draw it on the outline (within %d m)", deref0(dist), zoning.MaxEntranceDistanceM)
		}
		var eid int64
		if err := tx.QueryRow(ctx, `INSERT INTO compound_entrances (compound_id, name, kind, geom, state, staff, updated_by)
			VALUES ($1, $2, $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), $6, $7, $8) RETURNING id`,
			id, e.Name, e.Kind, e.Lon, e.Lat, e.State, e.Staff, actorID(origin)).Scan(&eid); err != nil {
			return fmt.Errorf("add entrance to compound %d: %w", id, err)
		}
		rec.after = map[string]any{"entrance_id": eid, "state": e.State, "staff": e.Staff}
		out, err = lockdown(ctx, tx, id)
		return err
	}, nil, nil)
	if err != nil {
		return zoning.CompoundLockdown{}, err
	}
	return out, nil
}

func deref0(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// EditEntrance opens or closes entrance id or changes its staff, and
// answers its compound.
func (ls Lockdowns) EditEntrance(ctx context.Context, origin zoning.Origin, id int64, x zoning.EntranceEdit) (zoning.CompoundLockdown, error) {
	origin.Reason = x.Reason
	rec := &auditRecord{action: "entrance.edit", entity: "entrance", entityID: strconv.FormatInt(id, 10)}
	var out zoning.CompoundLockdown
	err := auditedWrite(ctx, ls.S, origin, rec, func(tx pgx.Tx) error {
		before, err := scanEntrance(tx.QueryRow(ctx, `SELECT `+entranceColumns+` FROM compound_entrances e WHERE e.id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no entrance with id %d", id)
		}
		if err != nil {
			return fmt.Errorf("load entrance %d: %w", id, err)
		}
		if before.CompoundID == nil {
			return zoning.Errorf(zoning.ErrConflict, "entrance %d belongs to no compound", id)
		}
		rec.before = map[string]any{"state": before.State, "staff": before.Staff}
		after, err := x.Apply(before)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE compound_entrances SET state = $2, staff = $3, updated_by = $4, updated_at = now() WHERE id = $1`,
			id, after.State, after.Staff, actorID(origin)); err != nil {
			return fmt.Errorf("edit entrance %d: %w", id, err)
		}
		rec.after = map[string]any{"state": after.State, "staff": after.Staff}
		out, err = lockdown(ctx, tx, *before.CompoundID)
		return err
	}, nil, nil)
	if err != nil {
		return zoning.CompoundLockdown{}, err
	}
	return out, nil
}

// AdoptEntrances gives compound id the imported entrances within 20 m of
// its outline that belong to no compound (a compound drawn by hand, or
// drawn again, finds the gates the map knows), and answers it.
func (ls Lockdowns) AdoptEntrances(ctx context.Context, origin zoning.Origin, id int64) (zoning.CompoundLockdown, error) {
	rec := &auditRecord{action: "entrance.adopt", entity: "compound", entityID: strconv.FormatInt(id, 10)}
	var out zoning.CompoundLockdown
	err := auditedWrite(ctx, ls.S, origin, rec, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM compounds WHERE id = $1)`, id).Scan(&ok); err != nil {
			return fmt.Errorf("compound %d: %w", id, err)
		}
		if !ok {
			return zoning.Errorf(zoning.ErrNotFound, "no compound with id %d", id)
		}
		tag, err := tx.Exec(ctx, `UPDATE compound_entrances e SET compound_id = $1
			FROM compounds c WHERE c.id = $1 AND e.compound_id IS NULL AND e.source <> 'drawn'
			  AND ST_DWithin(ST_Boundary(c.geom)::geography, e.geom::geography, 20)`, id)
		if err != nil {
			return fmt.Errorf("adopt entrances of compound %d: %w", id, err)
		}
		rec.after = map[string]any{"adopted": tag.RowsAffected()}
		out, err = lockdown(ctx, tx, id)
		return err
	}, nil, nil)
	if err != nil {
		return zoning.CompoundLockdown{}, err
	}
	return out, nil
}
