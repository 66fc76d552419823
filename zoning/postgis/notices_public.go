package postgis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskzone/riskzone/zoning"
)

// PublicCounties returns the public situation of every county (county 0)
// or of one.
func (n Notices) PublicCounties(ctx context.Context, county int64) ([]zoning.PublicCounty, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_public_counties"), county)
	if err != nil {
		return nil, fmt.Errorf("public counties: %w", err)
	}
	var out []zoning.PublicCounty
	ruleIDs := map[int64]string{}
	for rows.Next() {
		var c zoning.PublicCounty
		var rule, level string
		var zones, pop int
		if err := rows.Scan(&c.ID, &c.Name, &c.NameEn, &c.Authority, &rule, &c.BBox[0], &c.BBox[1], &c.BBox[2], &c.BBox[3],
			&level, &zones, &pop); err != nil {
			rows.Close()
			return nil, fmt.Errorf("public counties: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != c.ID {
			ruleIDs[c.ID] = rule
			out = append(out, c)
		}
		if level != "" && zones > 0 {
			last := &out[len(out)-1]
			last.Levels = append(last.Levels, zoning.LevelCount{Level: level, Zones: zones, Population: pop})
			last.Zoned = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("public counties: %w", err)
	}
	rules := map[string]zoning.RuleSet{}
	for i := range out {
		c := &out[i]
		id := ruleIDs[c.ID]
		r, ok := rules[id]
		if !ok {
			if r, err = loadRuleSet(ctx, n.S.Pool, id); err != nil {
				return nil, err
			}
			rules[id] = r
		}
		c.Rules = r
		// Every level above the lowest, in rule-set order, with its count.
		var levels []zoning.LevelCount
		for _, l := range r.Levels[:len(r.Levels)-1] {
			lc := zoning.LevelCount{Level: l.Code, NameZh: l.NameZh, NameEn: l.NameEn}
			for _, x := range c.Levels {
				if x.Level == l.Code {
					lc.Zones, lc.Population = x.Zones, x.Population
				}
			}
			levels = append(levels, lc)
		}
		c.Levels = levels
		last, err := n.List(ctx, NoticeFilter{CountyID: c.ID, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(last) > 0 {
			c.LastNotice = &last[0]
		}
	}
	if out == nil {
		out = []zoning.PublicCounty{}
	}
	return out, nil
}

// PublicZones returns public zones (public_zone_versions): the active ones
// of a county (county 0: all counties), or one zone in any status (zone >
// 0), with addresses, measures and, for one zone, its notices.
func (n Notices) PublicZones(ctx context.Context, county, zone int64) ([]zoning.PublicZone, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_public_zones"), county, zone, zone == 0)
	if err != nil {
		return nil, fmt.Errorf("public zones: %w", err)
	}
	var out []zoning.PublicZone
	var ruleIDs []string
	for rows.Next() {
		var z zoning.PublicZone
		var clock, earliest time.Time
		var since *time.Time
		var geo string
		if err := rows.Scan(&z.ZoneID, &z.Version, &z.CountyID, &z.County, &z.CountyEn, &z.Name, &z.Level, &z.Status, &z.Population,
			&clock, &earliest, &since, &z.BBox[0], &z.BBox[1], &z.BBox[2], &z.BBox[3], &geo, &z.PopulationEstimated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("public zones: %w", err)
		}
		z.ClockStart, z.EarliestLifting = zoning.AsDate(clock), zoning.AsDate(earliest)
		if since != nil {
			z.Since = *since
		}
		z.Geometry = []byte(geo)
		out = append(out, z)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("public zones: %w", err)
	}
	if zone > 0 && len(out) == 0 {
		return nil, zoning.Errorf(zoning.ErrNotFound, "zone %d is not public", zone)
	}
	if len(out) == 0 {
		return []zoning.PublicZone{}, nil
	}
	// Rule sets, measures and addresses.
	refs := make([]zoneRef, len(out))
	for i, z := range out {
		refs[i] = zoneRef{id: z.ZoneID, version: z.Version}
	}
	ids, versions := splitRefs(refs)
	addrs, err := addresses(ctx, n.S.Pool, ids, versions)
	if err != nil {
		return nil, err
	}
	if err := n.S.Pool.QueryRow(ctx, `SELECT array_agg(v.rule_set_id ORDER BY k.ord)
		FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS k (zone_id, version, ord)
		JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version`, ids, versions).Scan(&ruleIDs); err != nil {
		return nil, fmt.Errorf("rule sets of public zones: %w", err)
	}
	rules := map[string]zoning.RuleSet{}
	for i := range out {
		z := &out[i]
		z.Addresses = addrs[z.ZoneID]
		r, ok := rules[ruleIDs[i]]
		if !ok {
			if r, err = loadRuleSet(ctx, n.S.Pool, ruleIDs[i]); err != nil {
				return nil, err
			}
			rules[ruleIDs[i]] = r
		}
		if l, err := r.Level(z.Level); err == nil {
			z.LevelZh, z.LevelEn, z.MeasuresZh, z.MeasuresEn = l.NameZh, l.NameEn, l.MeasuresZh, l.MeasuresEn
		}
		if zone > 0 {
			ns, err := n.List(ctx, NoticeFilter{ZoneID: z.ZoneID, Limit: 500})
			if err != nil {
				return nil, err
			}
			slices.Reverse(ns)
			z.Notices = ns
		}
	}
	return out, nil
}

// Timeline returns the public timeline (see zoning.TimelineEntry).
func (n Notices) Timeline(ctx context.Context) ([]zoning.TimelineEntry, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_timeline"))
	if err != nil {
		return nil, fmt.Errorf("public timeline: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.TimelineEntry, error) {
		var e zoning.TimelineEntry
		var earliest time.Time
		err := r.Scan(&e.ZoneID, &e.Version, &e.CountyID, &e.Name, &e.Level, &e.Status, &e.NoticeID, &e.From, &e.Until, &earliest, &e.WKB)
		e.EarliestLifting = zoning.AsDate(earliest)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("public timeline: %w", err)
	}
	// A version superseded before it took effect was never in force (an
	// empty span, migration 009): nobody was in it.
	out = slices.DeleteFunc(out, func(e zoning.TimelineEntry) bool { return e.Until != nil && !e.Until.After(e.From) })
	return out, nil
}

// Changes returns the zone changes published after since, oldest first.
func (n Notices) Changes(ctx context.Context, since time.Time, limit int) ([]zoning.PublicChange, error) {
	rows, err := n.S.Pool.Query(ctx, query("notice_changes"), since, limit)
	if err != nil {
		return nil, fmt.Errorf("public changes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.PublicChange, error) {
		var c zoning.PublicChange
		err := r.Scan(&c.NoticeID, &c.Kind, &c.Status, &c.PublishedAt, &c.EffectiveAt, &c.ZoneID, &c.Version, &c.CountyID, &c.Name,
			&c.Level, &c.ZoneStatus, &c.BBox[0], &c.BBox[1], &c.BBox[2], &c.BBox[3])
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("public changes: %w", err)
	}
	if out == nil {
		out = []zoning.PublicChange{}
	}
	return out, nil
}

// BuildingAddress is a building found by address for the public lookup.
type BuildingAddress struct {
	BuildingID int64   `json:"building_id"`
	CountyID   int64   `json:"county_id"`
	District   string  `json:"district"`
	Street     string  `json:"street"`
	Compound   string  `json:"compound"`
	Number     string  `json:"number"`
	Name       string  `json:"name"`
	Lon        float64 `json:"lon"`
	Lat        float64 `json:"lat"`
}

// BuildingAddresses streams the address of every building with a compound
// name, with a point inside its footprint, to fn (for the lookup's
// in-memory address index).
func (n Notices) BuildingAddresses(ctx context.Context, fn func(BuildingAddress)) error {
	rows, err := n.S.Pool.Query(ctx, query("notice_building_addresses"))
	if err != nil {
		return fmt.Errorf("building addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b BuildingAddress
		var county *int64
		if err := rows.Scan(&b.BuildingID, &county, &b.District, &b.Street, &b.Compound, &b.Number, &b.Name, &b.Lon, &b.Lat); err != nil {
			return fmt.Errorf("building addresses: %w", err)
		}
		if county != nil {
			b.CountyID = *county
		}
		fn(b)
	}
	return rows.Err()
}

// LayerVersion returns the version of a layer (layer_versions), 0 when
// the layer has no row.
func (n Notices) LayerVersion(ctx context.Context, layer string) (int64, error) {
	var v int64
	err := n.S.Pool.QueryRow(ctx, `SELECT coalesce((SELECT version FROM layer_versions WHERE layer = $1), 0)`, layer).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("layer version %s: %w", layer, err)
	}
	return v, nil
}

// CountyShape is a county's outline, for the lookup's "which county".
type CountyShape struct {
	ID     int64
	Name   string
	NameEn string
	WKB    []byte
}

// CountyShapes returns every county's outline (WKB, lon/lat).
func (n Notices) CountyShapes(ctx context.Context) ([]CountyShape, error) {
	rows, err := n.S.Pool.Query(ctx, `SELECT id, name, name_en, ST_AsBinary(geom) FROM admin_areas WHERE level = 'county' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("county outlines: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CountyShape, error) {
		var c CountyShape
		return c, r.Scan(&c.ID, &c.Name, &c.NameEn, &c.WKB)
	})
	if err != nil {
		return nil, fmt.Errorf("county outlines: %w", err)
	}
	return out, nil
}

// TakeEffect bumps the zones layer when a notice published ahead of its
// effective time has taken effect since the layer last moved (so every
// cache keyed by layer versions refreshes), and reports whether it did and
// how long until the next actual notice takes effect (0: none pending).
// Both are read on the database's clock of the public map, riskzone_now().
func (n Notices) TakeEffect(ctx context.Context) (bumped bool, next time.Duration, err error) {
	tx, err := n.S.Pool.Begin(ctx)
	if err != nil {
		return false, 0, fmt.Errorf("take effect: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
	var count int
	if err := tx.QueryRow(ctx, query("notice_public_take_effect")).Scan(&count); err != nil {
		return false, 0, fmt.Errorf("take effect: %w", err)
	}
	var wait *float64 // seconds
	if err := tx.QueryRow(ctx, `SELECT extract(epoch FROM min(effective_at) - riskzone_now())::float8 FROM notices
		WHERE status = 'actual' AND effective_at > riskzone_now()`).Scan(&wait); err != nil {
		return false, 0, fmt.Errorf("next effective time: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, 0, fmt.Errorf("take effect: %w", err)
	}
	if wait != nil {
		next = max(time.Duration(*wait*float64(time.Second)), time.Microsecond)
	}
	return count > 0, next, nil
}
