package postgis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning"
)

// RuleSets lists every rule set with the counties that use it.
func (s *Store) RuleSets(ctx context.Context) ([]zoning.RuleSetInfo, error) {
	rows, err := s.Pool.Query(ctx, `SELECT r.id, r.is_default,
			coalesce((SELECT array_agg(a.id ORDER BY a.id) FROM admin_areas a
			          WHERE a.level = 'county' AND coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default)) = r.id), '{}')
		FROM rule_sets r ORDER BY r.edition DESC, r.id`)
	if err != nil {
		return nil, fmt.Errorf("list rule sets: %w", err)
	}
	type row struct {
		id       string
		def      bool
		counties []int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.def, &x.counties)
	})
	if err != nil {
		return nil, fmt.Errorf("list rule sets: %w", err)
	}
	out := make([]zoning.RuleSetInfo, 0, len(list))
	for _, x := range list {
		r, err := loadRuleSet(ctx, s.Pool, x.id)
		if err != nil {
			return nil, err
		}
		out = append(out, zoning.RuleSetInfo{RuleSet: r, Default: x.def, Counties: x.counties})
	}
	return out, nil
}

// SetCountyRuleSet assigns a rule set to a county (admins only), audited
// (action county.rule_set, also when refused). It is refused (409) while the county
// has active zones, or public zones still in force, of a level the new rule
// set does not have: their notices and lifting would have no rules. Zones
// keep the rule set they were designated under; new designations use the
// new one. It answers what it wrote, read in its transaction.
func (z Zones) SetCountyRuleSet(ctx context.Context, origin zoning.Origin, county int64, req zoning.RuleSetAssignment) (zoning.CountyRuleSet, error) {
	if err := req.Validate(); err != nil {
		return zoning.CountyRuleSet{}, err
	}
	origin.Reason = req.Reason
	id := strings.TrimSpace(req.RuleSetID)
	rec := &auditRecord{action: "county.rule_set", entity: "county", entityID: strconv.FormatInt(county, 10)}
	var out zoning.CountyRuleSet
	err := z.write(ctx, origin, rec, func(tx pgx.Tx) error {
		if !origin.Actor.Is(zoning.RoleAdmin) {
			return zoning.Errorf(zoning.ErrForbidden, "only an admin may assign a rule set to county %d", county)
		}
		var own *string
		err := tx.QueryRow(ctx, `SELECT name, rule_set_id FROM admin_areas WHERE id = $1 AND level = 'county' FOR UPDATE`, county).
			Scan(&out.County, &own)
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "county %d not found", county)
		}
		if err != nil {
			return fmt.Errorf("load county %d: %w", county, err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rule_sets WHERE id = $1)`, id).Scan(&exists); err != nil {
			return fmt.Errorf("look up rule set %s: %w", id, err)
		}
		if !exists {
			return zoning.Errorf(zoning.ErrInvalid, "no rule set %q (GET /api/v1/rule-sets lists them)", id)
		}
		// The zone lock: no designation or lift of this county runs meanwhile.
		if err := lockCounty(ctx, tx, county); err != nil {
			return err
		}
		prev, err := countyRuleSet(ctx, tx, county)
		if err != nil {
			return err
		}
		rec.before = map[string]any{"rule_set_id": prev.ID, "inherited": own == nil}
		rec.after = map[string]any{"rule_set_id": id}
		rules, err := loadRuleSet(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT level, count(*)::int FROM (
				SELECT v.level FROM zones zn JOIN zone_versions v ON v.zone_id = zn.id AND v.version = zn.current_version
				WHERE zn.county_id = $1 AND zn.status = 'active'
			  UNION ALL
				SELECT p.level FROM public_zone_versions p WHERE p.county_id = $1 AND p.status = 'active') l
			GROUP BY level ORDER BY level`, county)
		if err != nil {
			return fmt.Errorf("levels of the zones of county %d: %w", county, err)
		}
		type lc struct {
			level string
			n     int
		}
		levels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lc, error) {
			var x lc
			return x, r.Scan(&x.level, &x.n)
		})
		if err != nil {
			return fmt.Errorf("levels of the zones of county %d: %w", county, err)
		}
		var missing []string
		for _, l := range levels {
			if _, err := rules.Level(l.level); err != nil {
				missing = append(missing, l.level)
			}
		}
		if len(missing) > 0 {
			var codes []string
			for _, l := range rules.Levels {
				codes = append(codes, l.Code)
			}
			return zoning.Errorf(zoning.ErrConflict,
				"county %d has active zones of level %s, which rule set %s does not have (its levels: %s): lift or publish those zones first",
				county, strings.Join(slices.Compact(missing), ", "), id, strings.Join(codes, ", "))
		}
		if _, err := tx.Exec(ctx, `UPDATE admin_areas SET rule_set_id = $2 WHERE id = $1`, county, id); err != nil {
			return fmt.Errorf("assign rule set %s to county %d: %w", id, county, err)
		}
		now, err := countyRuleSet(ctx, tx, county)
		if err != nil {
			return err
		}
		out.CountyID, out.RuleSet, out.Previous = county, now, prev.ID
		return nil
	})
	if err != nil {
		return zoning.CountyRuleSet{}, err
	}
	return out, nil
}
