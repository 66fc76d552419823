package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riskzone/riskzone/server/workers"
	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/demo"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// demoDatabase is a fresh test database holding a 3,000-building demo
// county and its story, with a store on it (closed when the test ends).
func demoDatabase(t *testing.T) (dsn string, store *postgis.Store, sum *demo.Summary, story *demo.StorySummary) {
	t.Helper()
	dsn = pgtest.NewDatabase(t)
	ctx := context.Background()
	store, err := postgis.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if sum, err = demo.Load(ctx, store, demo.Options{Seed: 1, Buildings: 3000, Today: time.Now().UTC()}, nil); err != nil {
		t.Fatal(err)
	}
	if story, err = demo.TellStory(ctx, store, sum); err != nil {
		t.Fatal(err)
	}
	return dsn, store, sum, story
}

// replica is one `riskzone serve` process of a test.
type replica struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit, once done
}

// startReplica runs serve on a free loopback port against dsn and waits
// until it is ready.
func startReplica(t *testing.T, dsn string, args ...string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &replica{addr: addr, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(binary, append([]string{"serve", "--addr", addr, "--log-format", "json", "--insecure-dev"}, args...)...)
	// As `serve` is deployed: the app role, the schema already current.
	r.cmd.Env = append(cleanEnv(), "DATABASE_URL="+pgtest.AppURL(t, dsn))
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-r.done:
			t.Fatalf("replica exited: %v\n%s", r.err, r.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica on %s not ready in 30 s:\n%s", addr, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A replica is killed with SIGKILL after a notice is written and while it
// delivers the notice's webhooks (the subscribers have its requests in
// hand). Another replica on the same database delivers them once its lease
// expires: each subscriber accepts exactly one delivery, under the
// idempotency key of the interrupted attempt.
func TestKillReplicaMidDelivery(t *testing.T) {
	ctx := context.Background()
	dsn, store, _, story := demoDatabase(t)
	// Only our subscribers receive anything.
	if _, err := store.Pool.Exec(ctx, `UPDATE outbox SET state = 'dead', last_error = 'set aside by the test' WHERE state <> 'delivered';
		UPDATE subscribers SET active = false`); err != nil {
		t.Fatal(err)
	}

	const secret = "kill-test-secret-0123456789"
	var mu sync.Mutex
	hold := true
	held := make(chan string, 10)     // subscriber paths of requests held (the killed replica's)
	accepted := map[string][]string{} // subscriber path -> idempotency keys accepted
	attemptKeys := map[string][]string{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := workers.VerifyWebhook(secret, r.Header, body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		key := r.Header.Get(workers.HeaderIdempotencyKey)
		mu.Lock()
		attemptKeys[r.URL.Path] = append(attemptKeys[r.URL.Path], key)
		h := hold
		mu.Unlock()
		if h {
			held <- r.URL.Path
			<-r.Context().Done() // the sender dies with the request in flight
			return
		}
		mu.Lock()
		for _, k := range accepted[r.URL.Path] {
			if k == key {
				mu.Unlock()
				w.WriteHeader(http.StatusOK) // a duplicate: acknowledged, not accepted again
				return
			}
		}
		accepted[r.URL.Path] = append(accepted[r.URL.Path], key)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer rc.Close()
	paths := []string{"/hook/health-commission", "/hook/transport"}
	for _, p := range paths {
		if _, _, err := (postgis.Outbox{S: store}).CreateSubscriber(ctx, zoning.Origin{Actor: zoning.CLI()},
			zoning.NewSubscriber{Name: p, URL: rc.URL + p, Secret: secret}); err != nil {
			t.Fatal(err)
		}
	}
	// The receiver listens on loopback: the allowlist must name it.
	flags := []string{"--webhook-lease", "3s", "--webhook-timeout", "2s", "--webhook-poll", "200ms", "--webhook-base-delay", "200ms", "--outbound-allow", "127.0.0.0/8"}
	a := startReplica(t, dsn, flags...)

	// The notice is written: its deliveries, in one transaction with the
	// signal a publication sends.
	tx, err := store.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO outbox (notice_id, subscriber_id, idempotency_key)
		SELECT $1, id, gen_random_uuid() FROM subscribers WHERE active`, story.Notices[len(story.Notices)-1]); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, 'test')`, postgis.OutboxChannel); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range paths {
		select {
		case <-held:
		case <-time.After(20 * time.Second):
			t.Fatalf("replica A did not start delivering within 20 s:\n%s", a.stderr)
		}
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	var running int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state = 'running'`).Scan(&running); err != nil {
		t.Fatal(err)
	}
	if running != len(paths) {
		t.Fatalf("%d deliveries leased after the kill, want %d", running, len(paths))
	}
	mu.Lock()
	hold = false
	mu.Unlock()

	killed := time.Now()
	startReplica(t, dsn, flags...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var delivered int
		if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE state = 'delivered' AND subscriber_id IN (SELECT id FROM subscribers WHERE active)`).Scan(&delivered); err != nil {
			t.Fatal(err)
		}
		if delivered == len(paths) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries made 30 s after the kill", delivered, len(paths))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("delivered by the other replica %s after the kill", time.Since(killed).Round(time.Millisecond))
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		keys := attemptKeys[p]
		if len(accepted[p]) != 1 {
			t.Errorf("%s accepted %d deliveries, want exactly 1", p, len(accepted[p]))
		}
		for _, k := range keys {
			if k != keys[0] {
				t.Errorf("%s got keys %v: a retry must reuse the key", p, keys)
			}
		}
	}
	var ok int
	if err := store.Pool.QueryRow(ctx, `SELECT count(*) FROM delivery_attempts a JOIN outbox o ON o.id = a.outbox_id
		JOIN subscribers s ON s.id = o.subscriber_id WHERE s.active AND a.status_code BETWEEN 200 AND 299`).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	if ok != len(paths) {
		t.Errorf("%d successful attempts recorded, want %d", ok, len(paths))
	}
}
