// Package pgsource is the PostGIS tiles.Source: it reads layer regions and
// layer versions with pgx and watches NOTIFY riskzone_layers on a connection
// of its own. Its SQL lives in embedded files under sql/.
package pgsource

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/sqlfile"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// ListenerName is the application_name of the watcher's connection, as
// pg_stat_activity shows it.
const ListenerName = "riskzone tiles listener"

var queries = sqlfile.Must("pgsource", sqlFS)

// query returns the statement of sql/NAME.sql (a missing file panics: a
// build mistake, caught by every test).
func query(name string) string { return queries.Query(name) }

// regionQuery is how one layer is read: the SQL and whether it takes the
// lon/lat box as $1..$4.
type regionQuery struct {
	sql  string
	bbox bool
}

// Options configure the source.
type Options struct {
	// StatementTimeout bounds every query a region read makes (SET LOCAL
	// statement_timeout in its transaction); default 5 s.
	StatementTimeout time.Duration
	// MaxBackoff is the longest wait between reconnections of the watcher;
	// default 5 s.
	MaxBackoff time.Duration
}

// Source reads tiles from PostGIS.
type Source struct {
	pool    *pgxpool.Pool
	opt     Options
	log     *slog.Logger
	regions map[string]regionQuery
	sql     struct{ versions, layerVersion, extent string }
}

// New makes the source over a pool (the store's).
func New(pool *pgxpool.Pool, opt Options, log *slog.Logger) *Source {
	if opt.StatementTimeout <= 0 {
		opt.StatementTimeout = 5 * time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 5 * time.Second
	}
	s := &Source{pool: pool, opt: opt, log: log, regions: map[string]regionQuery{
		"buildings": {query("region_buildings"), true},
		"barriers":  {query("region_barriers"), true},
		"admin":     {query("region_admin"), true},
		"zones":     {query("region_zones"), true},
		"proposals": {query("region_proposals"), true},
		"cases":     {query("region_cases"), true},
		"spread":    {query("region_spread"), false},
	}}
	s.sql.versions = query("versions")
	s.sql.layerVersion = query("layer_version")
	s.sql.extent = query("extent")
	return s
}

// RegionSQL is the query that reads a layer's regions, and whether it takes
// a lon/lat box as $1..$4 (for tests that EXPLAIN it).
func (s *Source) RegionSQL(layer string) (sql string, bbox bool, ok bool) {
	q, ok := s.regions[layer]
	return q.sql, q.bbox, ok
}

// Versions reads every layer's data version.
func (s *Source) Versions(ctx context.Context) (map[string]int64, error) {
	return readVersions(ctx, s.pool, s.sql.versions)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func readVersions(ctx context.Context, q querier, sql string) (map[string]int64, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("read layer versions: %w", err)
	}
	out := map[string]int64{}
	var layer string
	var v int64
	_, err = pgx.ForEachRow(rows, []any{&layer, &v}, func() error {
		out[layer] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read layer versions: %w", err)
	}
	return out, nil
}

// Region reads a layer's features meeting bound (lon/lat; zero: all) and
// the layer's version in one read-only repeatable-read transaction, so the
// features are exactly those of the version, under a statement timeout.
func (s *Source) Region(ctx context.Context, layer string, bound orb.Bound) (tiles.Region, error) {
	q, ok := s.regions[layer]
	if !ok {
		return tiles.Region{}, fmt.Errorf("pgsource: no query for layer %q", layer)
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return tiles.Region{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	ms := strconv.FormatInt(s.opt.StatementTimeout.Milliseconds(), 10)
	if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", ms); err != nil {
		return tiles.Region{}, fmt.Errorf("set statement timeout: %w", err)
	}
	var reg tiles.Region
	if err := tx.QueryRow(ctx, s.sql.layerVersion, layer).Scan(&reg.Version); err != nil {
		return tiles.Region{}, fmt.Errorf("read %s version: %w", layer, err)
	}
	var args []any
	if q.bbox {
		if bound == (orb.Bound{}) {
			bound = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
		}
		args = []any{bound.Min[0], bound.Min[1], bound.Max[0], bound.Max[1]}
	}
	rows, err := tx.Query(ctx, q.sql, args...)
	if err != nil {
		return tiles.Region{}, fmt.Errorf("read %s: %w", layer, timeout(err))
	}
	reg.Features, err = scanFeatures(rows, layer == "spread")
	if err != nil {
		return tiles.Region{}, fmt.Errorf("read %s: %w", layer, timeout(err))
	}
	if err := tx.Commit(ctx); err != nil {
		return tiles.Region{}, fmt.Errorf("read %s: commit: %w", layer, err)
	}
	return reg, nil
}

// scanFeatures reads rows of (id, geometry WKB, attributes...) or, for the
// spread layer, (id, h3 cell). Features with equal attributes share one
// property map: a hundred thousand buildings of six kinds hold six maps.
func scanFeatures(rows pgx.Rows, cells bool) ([]tiles.Feature, error) {
	defer rows.Close()
	names := make([]string, 0, 8)
	for _, fd := range rows.FieldDescriptions() {
		names = append(names, fd.Name)
	}
	interned := map[string]map[string]any{}
	var key strings.Builder
	var out []tiles.Feature
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		id, ok := vals[0].(int64)
		if !ok || id < 0 {
			return nil, fmt.Errorf("feature id %v is not a row id", vals[0])
		}
		if cells {
			cell, ok := vals[1].(int64)
			if !ok {
				return nil, fmt.Errorf("case %d: h3 cell %T", id, vals[1])
			}
			out = append(out, tiles.Feature{ID: uint64(id), Cell: cell})
			continue
		}
		raw, ok := vals[1].([]byte)
		if !ok {
			if vals[1] == nil {
				continue // no geometry (a case without a place to show)
			}
			return nil, fmt.Errorf("feature %d: geometry %T", id, vals[1])
		}
		g, err := wkb.Unmarshal(raw)
		if err != nil {
			return nil, fmt.Errorf("feature %d: %w", id, err)
		}
		key.Reset()
		props := make(map[string]any, len(vals)-2)
		for i := 2; i < len(vals); i++ {
			v := attr(vals[i])
			if v == nil {
				continue
			}
			props[names[i]] = v
			fmt.Fprintf(&key, "%s=%T:%v\x00", names[i], v, v)
		}
		if shared, ok := interned[key.String()]; ok {
			props = shared
		} else {
			interned[key.String()] = props
		}
		out = append(out, tiles.Feature{ID: uint64(id), Geometry: g, Props: props})
	}
	return out, rows.Err()
}

// timeout marks a statement cancelled by statement_timeout as
// tiles.ErrTimeout.
func timeout(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" { // query_canceled
		return fmt.Errorf("%w: %w", tiles.ErrTimeout, err)
	}
	return err
}

// attr converts a column value to an MVT attribute value.
func attr(v any) any {
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return v
	case int64, float64, bool:
		return v
	case int32:
		return int64(v)
	case int16:
		return int64(v)
	case float32:
		return float64(v)
	}
	return nil
}

// Extent is the lon/lat box of the counties (or of whatever there is).
func (s *Source) Extent(ctx context.Context) (orb.Bound, bool, error) {
	var x0, y0, x1, y1 *float64
	if err := s.pool.QueryRow(ctx, s.sql.extent).Scan(&x0, &y0, &x1, &y1); err != nil {
		return orb.Bound{}, false, fmt.Errorf("read extent: %w", err)
	}
	if x0 == nil || y0 == nil || x1 == nil || y1 == nil {
		return orb.Bound{}, false, nil
	}
	return orb.Bound{Min: orb.Point{*x0, *y0}, Max: orb.Point{*x1, *y1}}, true, nil
}

// Watch listens on postgis.LayersChannel with a connection of its own until ctx ends. On
// every (re)connection and after every notification it reads all layer
// versions (on the same connection) and hands them to changed; when the
// connection fails it calls lost and reconnects after a backoff that grows
// from 100 ms to MaxBackoff. Reading every version on reconnection catches
// up on changes announced while it was away.
func (s *Source) Watch(ctx context.Context, changed func(map[string]int64), lost func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.watchOnce(ctx, changed, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		lost()
		s.log.Warn("tiles: layer change listener lost its connection; reconnecting", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, s.opt.MaxBackoff)
	}
}

func (s *Source) watchOnce(ctx context.Context, changed func(map[string]int64), connected func()) error {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = ListenerName
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	cancel()
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+postgis.LayersChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	v, err := readVersions(ctx, conn, s.sql.versions)
	if err != nil {
		return err
	}
	connected()
	changed(v)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		v, err := readVersions(ctx, conn, s.sql.versions)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return err
		}
		changed(v)
	}
}
