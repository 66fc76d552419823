package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/lookup"
	"github.com/riskzone/riskzone/server/workers/workerstest"
	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// Two replicas on one database behave as one service: a zone lifted and
// published through replica A is gone from replica B's tiles and lookup
// within 1 s (LISTEN/NOTIFY, no polling at that speed), and the webhook of
// the notice is delivered once although both replicas run a delivery
// worker.
func TestTwoReplicas(t *testing.T) {
	const secret = "replica-secret-0123456789"
	rc := workerstest.NewReceiver(t, secret, func(int) int { return http.StatusOK })
	a := newPublicEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The story's own deliveries are set aside; one subscriber of ours.
	if _, err := a.store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside by the test' WHERE state <> 'delivered'`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.Pool.Exec(ctx, `UPDATE subscribers SET active = false`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := (postgis.Outbox{S: a.store}).CreateSubscriber(ctx, zoning.Origin{Actor: zoning.CLI()},
		zoning.NewSubscriber{Name: "agency", URL: rc.URL + "/hook", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	a.srv.Start(ctx)

	storeB, err := postgis.Open(ctx, a.store.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer storeB.Close()
	b := New(a.srv.cfg, storeB, slog.New(slog.NewTextHandler(io.Discard, nil))) // a replica: the same configuration (its outbound allowlist names the loopback receiver)
	tsB := httptest.NewServer(b.Handler())
	defer tsB.Close()
	ctxB, cancelB := context.WithCancel(ctx)
	defer cancelB() // before storeB closes: its workers hold connections
	b.Start(ctxB)
	envB := &testEnv{t: t, srv: b, store: storeB, ts: tsB, logs: &lockedBuffer{}}

	var zone int64
	var lon, lat float64
	if err := a.store.Pool.QueryRow(ctx, `SELECT zone_id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))
		FROM public_zone_versions WHERE status = 'active' ORDER BY zone_id LIMIT 1`).Scan(&zone, &lon, &lat); err != nil {
		t.Fatal(err)
	}
	lookupURL := fmt.Sprintf("/api/v1/public/lookup?lon=%.12g&lat=%.12g", lon, lat)
	tl := tiles.TileOf(lon, lat, 16)
	tile := fmt.Sprintf("/tiles/zones/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y)
	var before lookup.Answer
	envB.do(request{method: "GET", path: lookupURL}).expect(t, http.StatusOK, "B lookup before").decode(t, &before)
	tileBefore := envB.do(request{method: "GET", path: tile}).expect(t, http.StatusOK, "B tile before")
	if !before.InZone {
		t.Fatalf("B: the point of zone %d is not in a zone: %+v", zone, before)
	}

	admin, publisher := a.apiToken("root", zoning.RoleAdmin), a.apiToken("pub", zoning.RolePublisher)
	a.do(request{method: "POST", path: fmt.Sprintf("/api/v1/zones/%d/lift", zone), bearer: admin,
		json: map[string]any{"reason": "test: lifted by override", "override": true}}).expect(t, http.StatusOK, "lift through A")
	a.do(request{method: "POST", path: "/api/v1/notices", bearer: publisher,
		json: map[string]any{"county_id": a.sum.CountyID}}).expect(t, http.StatusCreated, "publish through A")
	published := time.Now()

	var tileSeen, lookupSeen time.Duration
	for tileSeen == 0 || lookupSeen == 0 {
		if tileSeen == 0 {
			res := envB.do(request{method: "GET", path: tile})
			if res.Header.Get("ETag") != tileBefore.Header.Get("ETag") {
				tileSeen = time.Since(published)
			}
		}
		if lookupSeen == 0 {
			var now lookup.Answer
			envB.do(request{method: "GET", path: lookupURL}).expect(t, http.StatusOK, "B lookup").decode(t, &now)
			if !now.InZone && now.IndexVersion > before.IndexVersion {
				lookupSeen = time.Since(published)
			}
		}
		if time.Since(published) > time.Second {
			t.Fatalf("1 s after the publication through A, B's tile changed: %v, B's lookup changed: %v", tileSeen > 0, lookupSeen > 0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("B serves the change: tiles after %s, lookup after %s", tileSeen.Round(time.Millisecond), lookupSeen.Round(time.Millisecond))

	// The notice's webhook: delivered once, by one of the two workers.
	h := workerstest.WaitHit(t, rc)
	if h.Verified != nil {
		t.Fatal(h.Verified)
	}
	time.Sleep(500 * time.Millisecond) // a second delivery would come now
	var rows, attempts int
	if err := a.store.Pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(attempts), 0) FROM outbox o JOIN subscribers s ON s.id = o.subscriber_id
		WHERE s.url = $1`, rc.URL+"/hook").Scan(&rows, &attempts); err != nil {
		t.Fatal(err)
	}
	if n, seen := rc.Requests(), rc.Accepted(); rows != 1 || attempts != 1 || n != 1 || len(seen) != 1 {
		t.Fatalf("outbox rows %d, attempts %d, requests received %d, accepted keys %v: want one of each", rows, attempts, n, seen)
	}
}
