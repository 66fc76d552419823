package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riskzone/riskzone/zoning"
)

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
