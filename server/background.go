package server

import (
	"context"
	"time"

	"github.com/riskzone/riskzone/server/workers"
)

// The background workers live in server/workers; the server constructs
// them here, in New, and Start runs them until the serving context ends.

// backgroundWorkers constructs the workers every replica runs and
// registers them for Start: the database watch (degraded mode), the
// scheduled lifting check and effective-time wake-up, the closed-loop
// alerts and the webhook deliveries. The lookup index, the tile cache and
// the import runner register their own loops with their routes.
func (s *Server) backgroundWorkers() {
	s.onStart(func(ctx context.Context) {
		workers.WatchDB(ctx, s.store.Pool, s.cfg.DBCheckInterval, s.setDBDown)
	})
	s.sched = workers.NewScheduler(s.store, s.log, s.cfg.LiftingCheckInterval, s.now, s.health.Down)
	s.onStart(s.sched.Run)
	s.onStart(s.sched.RunEffects)
	// The alert deliveries, like the webhooks, connect only where the
	// outbound rules allow (outbound.go).
	s.onStart(workers.NewAlerts(s.contacts(), s.cfg.Alerts, s.out.client(10*time.Second), s.log, s.cfg.Now).Run)
	d := workers.NewDeliveries(s.store, s.log, s.cfg.Public.Webhooks, s.cfg.Public.BaseURL, s.out.client)
	d.Listen = true
	s.onStart(d.Run)
}

// listen LISTENs on channel over a connection of s's pool and signals wake
// on every notification until ctx ends (workers.Listen).
func listen(ctx context.Context, s *Server, channel string, wake chan<- struct{}) {
	workers.Listen(ctx, s.store.Pool, s.log, channel, wake)
}
