package postgis

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PublicPoolConfig sizes the pool of the anonymous public streams (exports,
// OGC items): a pool apart from the main one, so that slow or many
// anonymous downloads cannot take the connections signed-in writes need.
type PublicPoolConfig struct {
	// MaxConns caps its connections (at least 1).
	MaxConns int32
	// StatementTimeout is the statement_timeout of its sessions; zero
	// leaves the server's (none by default).
	StatementTimeout time.Duration
}

// PublicApplicationName is the application_name of the public pool's
// sessions, to tell them apart in pg_stat_activity.
const PublicApplicationName = "riskzone-public"

// OpenPublic opens a second, smaller pool on s's database, with s's
// connection settings (role, hooks) and c's size and statement_timeout. It
// connects lazily and is closed by s.Close.
func (s *Store) OpenPublic(c PublicPoolConfig) (*Store, error) {
	if c.MaxConns < 1 {
		return nil, fmt.Errorf("public pool: want at least 1 connection, got %d", c.MaxConns)
	}
	if c.StatementTimeout < 0 {
		return nil, fmt.Errorf("public pool: negative statement_timeout %v", c.StatementTimeout)
	}
	cfg := s.Pool.Config()
	cfg.MaxConns = c.MaxConns
	cfg.MinConns = 0
	// The startup packet carries the settings, so every session of the
	// pool has them from its first statement (no SET to forget).
	rp := maps.Clone(cfg.ConnConfig.RuntimeParams)
	if rp == nil {
		rp = map[string]string{}
	}
	rp["application_name"] = PublicApplicationName
	if c.StatementTimeout > 0 {
		rp["statement_timeout"] = fmt.Sprintf("%dms", max(1, c.StatementTimeout.Milliseconds()))
	}
	cfg.ConnConfig.RuntimeParams = rp
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("public pool: %w", err)
	}
	child := &Store{Pool: pool}
	s.mu.Lock()
	s.children = append(s.children, child)
	s.mu.Unlock()
	return child, nil
}
