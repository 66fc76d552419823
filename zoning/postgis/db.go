// Package postgis is the riskzone store of record: a pgx pool over PostgreSQL
// + PostGIS, the schema migrations, and the queries of every domain package.
package postgis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"

	"github.com/riskzone/riskzone/migrations"
)

// VersionTable is the table where tern records the applied migration.
const VersionTable = "schema_version"

// Store is the database handle shared by the domain and the server.
type Store struct {
	Pool *pgxpool.Pool

	// mu guards children: the pools OpenPublic made beside this one,
	// closed with it.
	mu       sync.Mutex
	children []*Store
}

// Open connects to the database at dsn and checks that it answers within
// the context's deadline.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database URL %s: %w", MaskURL(dsn), err)
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "riskzone"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// pgx defaults to max(4, cores) connections; background listeners (tile
	// cache, lookup index, deliveries) hold some for the server's life, and
	// tile and lookup bursts need the rest. A URL's pool_max_conns wins.
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = int32(max(20, 4*runtime.NumCPU()))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", MaskURL(dsn), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", MaskURL(dsn), err)
	}
	return &Store{Pool: pool}, nil
}

// Close releases the pool and the public pools made from it.
func (s *Store) Close() {
	s.mu.Lock()
	children := s.children
	s.children = nil
	s.mu.Unlock()
	for _, c := range children {
		c.Close()
	}
	s.Pool.Close()
}

// Reset closes the idle connections of the pool and of the public pools
// made from it (and the busy ones when released), so that new sessions
// pick up changed database settings.
func (s *Store) Reset() {
	s.mu.Lock()
	children := s.children
	s.mu.Unlock()
	for _, c := range children {
		c.Reset()
	}
	s.Pool.Reset()
}

// MaskURL hides the password of a database URL so it can be printed.
func MaskURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		// Keyword/value form or garbage: print nothing that could be a secret.
		return "(database URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.Redacted()
}

// LatestMigration is the number of the newest embedded migration.
func LatestMigration() (int32, error) {
	names, err := migrate.FindMigrations(migrations.FS)
	if err != nil {
		return 0, fmt.Errorf("list embedded migrations: %w", err)
	}
	return int32(len(names)), nil
}

// Migrate brings the schema at dsn up to the newest embedded migration,
// acting as OwnerRole: dsn is a migration login (a superuser, or a member of
// OwnerRole; prepareRoles says what it must be allowed), never the app's.
// tern holds a PostgreSQL advisory lock while it migrates, so processes that
// start at once (several replicas, parallel tests) apply each migration once;
// a database already current is detected without taking the lock.
func Migrate(ctx context.Context, dsn string) (from, to int32, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, 0, fmt.Errorf("connect to %s: %w", MaskURL(dsn), err)
	}
	defer conn.Close(context.Background())
	latest, err := LatestMigration()
	if err != nil {
		return 0, 0, err
	}
	if cur, err := currentVersion(ctx, conn); err == nil && cur == latest {
		return cur, cur, nil
	}
	if err := prepareRoles(ctx, conn); err != nil {
		return 0, 0, err
	}
	// Every object the migrations create belongs to the owner role, and
	// migration 012's default privileges grant the app role its share.
	if _, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{OwnerRole}.Sanitize()); err != nil {
		return 0, 0, fmt.Errorf("act as %s: %w", OwnerRole, err)
	}
	m, err := migrate.NewMigrator(ctx, conn, VersionTable)
	if err != nil {
		return 0, 0, fmt.Errorf("prepare migrations: %w", err)
	}
	if err := m.LoadMigrations(migrations.FS); err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	from, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate from version %d: %w", from, err)
	}
	to, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return from, 0, fmt.Errorf("read schema version: %w", err)
	}
	return from, to, nil
}

// ErrSchemaBehind means the database has not been migrated to this binary's schema.
var ErrSchemaBehind = errors.New("database schema is behind this binary")

// SchemaVersion reports the applied migration number.
func (s *Store) SchemaVersion(ctx context.Context) (int32, error) {
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	return currentVersion(ctx, conn.Conn())
}

// Ready checks that the database answers and its schema is current.
func (s *Store) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cur, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest, err := LatestMigration()
	if err != nil {
		return err
	}
	if cur != latest {
		return fmt.Errorf("%w: at %d, want %d (run riskzone migrate)", ErrSchemaBehind, cur, latest)
	}
	return nil
}

func currentVersion(ctx context.Context, conn *pgx.Conn) (int32, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", VersionTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("look for %s: %w", VersionTable, err)
	}
	if !exists {
		return 0, nil
	}
	var v int32
	if err := conn.QueryRow(ctx, "SELECT version FROM "+VersionTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("read %s: %w", VersionTable, err)
	}
	return v, nil
}
