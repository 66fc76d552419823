package workers

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WatchDB pings the database of pool every interval until ctx ends and
// reports each result to set (the server moves in and out of degraded mode,
// server/degraded.go). It pings over a connection of its own, not the
// pool's: a pool busy with a load spike is not a database gone.
func WatchDB(ctx context.Context, pool *pgxpool.Pool, every time.Duration, set func(down bool, cause error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	for {
		conn = checkDB(ctx, pool, every, conn, set)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkDB pings once over conn (connecting when it is nil or broken),
// records the result and returns the connection to use next time.
func checkDB(ctx context.Context, pool *pgxpool.Pool, every time.Duration, conn *pgx.Conn, set func(bool, error)) *pgx.Conn {
	pctx, cancel := context.WithTimeout(ctx, max(2*every, 2*time.Second))
	defer cancel()
	var err error
	if conn == nil || conn.IsClosed() {
		cfg := pool.Config().ConnConfig.Copy()
		cfg.RuntimeParams["application_name"] = "riskzone health check"
		conn, err = pgx.ConnectConfig(pctx, cfg)
		if err != nil {
			conn = nil
		}
	}
	if err == nil {
		err = conn.Ping(pctx)
		if err != nil {
			conn.Close(context.Background())
			conn = nil
		}
	}
	if ctx.Err() != nil {
		return conn
	}
	set(err != nil, err)
	return conn
}
