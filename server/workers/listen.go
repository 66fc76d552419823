// Package workers holds the background loops every replica runs beside
// the HTTP server: webhook deliveries (webhooks.go), closed-loop alerts
// (alerts.go), the lifting scheduler (scheduled.go), the database watch
// (dbwatch.go) and the LISTEN connections that wake them (listen.go). It
// knows no HTTP framework and no handler: package server constructs the
// workers in New and starts them in Start (server/background.go).
package workers

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Listen LISTENs on channel with a connection of its own from pool and
// signals wake on every notification, reconnecting after errors, until ctx
// ends.
func Listen(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, channel string, wake chan<- struct{}) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
				conn.Conn().Close(context.Background()) //nolint:errcheck // dropping a broken connection
				return err
			}
			defer func() {
				// A connection returned to the pool must not keep listening.
				if _, err := conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+channel); err != nil {
					conn.Conn().Close(context.Background()) //nolint:errcheck
				}
			}()
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}()
		if ctx.Err() != nil {
			return
		}
		log.Warn("listen", "channel", channel, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
