package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// storyFixtures is the database fixture of the browser stories
// (web/e2e/fixtures.mjs): every story asks it for a server of its own,
// `riskzone serve` on a fresh copy of a seeded database, so no story sees
// what another one did. The states it copies: "demo", the seeded database
// (it must have no open connection), and "run", the demo after the user
// expert ran the proposal engine once through the API (made at the first
// story that asks for it: most stories decide on or edit what a run
// proposed, and one run per story would cost each a few seconds).
type storyFixtures struct {
	t     *testing.T
	bin   string // riskzone, built as it ships
	admin string // URL of the maintenance database of the test server

	tmu    sync.Mutex
	states map[string]string // database state → name of its database

	mu   sync.Mutex
	live map[string]*storyServer // by base URL
}

// storyServer is one story's `riskzone serve` and its database.
type storyServer struct {
	story, db string
	stop      func() string // ends the server, returns its log
}

// newStoryFixtures builds the binary and serves the fixture endpoint on
// loopback until the test ends: POST /stories {"story": title, "state":
// "demo" or "run"} answers {"base": URL} of a new server on a new copy of
// that state (template is the demo); DELETE
// /stories?base=URL[&failed=1] ends it, drops its database and, for a
// failed story, logs the server's output.
func newStoryFixtures(t *testing.T, template string) *httptest.Server {
	t.Helper()
	f := &storyFixtures{t: t, bin: buildServe(t), admin: pgtest.ServerURL(t), states: map[string]string{"demo": template}, live: map[string]*storyServer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /stories", f.create)
	mux.HandleFunc("DELETE /stories", f.remove)
	ts := httptest.NewServer(mux)
	t.Cleanup(func() {
		ts.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for base, s := range f.live {
			s.stop()
			f.drop(s.db)
			delete(f.live, base)
		}
		if db, ok := f.states["run"]; ok {
			f.drop(db)
		}
	})
	return ts
}

func (f *storyFixtures) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Story string `json:"story"`
		State string `json:"state"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Story == "" || (in.State != "demo" && in.State != "run") {
		http.Error(w, `want {"story": "its title", "state": "demo" or "run"}`, http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	from, err := f.state(ctx, in.State)
	if err != nil {
		http.Error(w, fmt.Sprintf("database state %s for %q: %v", in.State, in.Story, err), http.StatusInternalServerError)
		return
	}
	db, dsn, err := f.clone(ctx, from)
	if err != nil {
		http.Error(w, fmt.Sprintf("database for %q: %v", in.Story, err), http.StatusInternalServerError)
		return
	}
	t1 := time.Now()
	base, stop, err := startServe(f.bin, dsn)
	f.t.Logf("story %q: database copied in %d ms, server ready in %d ms", in.Story, t1.Sub(t0).Milliseconds(), time.Since(t1).Milliseconds())
	if err != nil {
		f.drop(db)
		http.Error(w, fmt.Sprintf("server for %q: %v", in.Story, err), http.StatusInternalServerError)
		return
	}
	f.mu.Lock()
	f.live[base] = &storyServer{story: in.Story, db: db, stop: stop}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"base": base})
}

func (f *storyFixtures) remove(w http.ResponseWriter, r *http.Request) {
	base := r.URL.Query().Get("base")
	f.mu.Lock()
	s, ok := f.live[base]
	delete(f.live, base)
	f.mu.Unlock()
	if !ok {
		http.Error(w, "no story server at "+base, http.StatusNotFound)
		return
	}
	logs := s.stop()
	f.drop(s.db)
	if r.URL.Query().Get("failed") == "1" {
		f.t.Logf("riskzone serve log of the failed story %q:\n%s", s.story, logs)
	}
	w.WriteHeader(http.StatusNoContent)
}

// state answers the database of a state, making "run" the first time.
func (f *storyFixtures) state(ctx context.Context, state string) (string, error) {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	if db, ok := f.states[state]; ok {
		return db, nil
	}
	db, dsn, err := f.clone(ctx, f.states["demo"])
	if err != nil {
		return "", err
	}
	base, stop, err := startServe(f.bin, dsn)
	if err != nil {
		f.drop(db)
		return "", err
	}
	err = runEngineAs(ctx, base, "expert", "riskzone-demo")
	if logs := stop(); err != nil {
		f.drop(db)
		return "", fmt.Errorf("%w\nserver log:\n%s", err, logs)
	}
	f.states[state] = db
	return db, nil
}

// runEngineAs signs user in through the API and runs the proposal engine
// on the first county, as the app does.
func runEngineAs(ctx context.Context, base, user, password string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 2 * time.Minute}
	call := func(method, path, csrf string, body, out any) error {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 300 {
			return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := call("POST", "/api/v1/auth/login", "", map[string]string{"username": user, "password": password}, &me); err != nil {
		return fmt.Errorf("sign in %s: %w", user, err)
	}
	var cs struct {
		Counties []struct {
			ID int64 `json:"id"`
		} `json:"counties"`
	}
	if err := call("GET", "/api/v1/app/counties", "", nil, &cs); err != nil {
		return err
	}
	if len(cs.Counties) == 0 {
		return errors.New("no county to run the engine on")
	}
	return call("POST", "/api/v1/proposals", me.CSRF, map[string]int64{"county_id": cs.Counties[0].ID}, nil)
}

// clone creates a database from the database from and returns its name
// and URL.
func (f *storyFixtures) clone(ctx context.Context, from string) (string, string, error) {
	c, err := pgx.Connect(ctx, f.admin)
	if err != nil {
		return "", "", fmt.Errorf("connect to the test server: %w", err)
	}
	defer c.Close(context.Background())
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "rz_story_" + hex.EncodeToString(rnd[:])
	// A server just stopped may leave a backend closing: end them.
	if _, err := c.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", from); err != nil {
		return "", "", fmt.Errorf("close the connections to %s: %w", from, err)
	}
	if _, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{from}.Sanitize()); err != nil {
		return "", "", fmt.Errorf("copy %s: %w", from, err)
	}
	u, err := url.Parse(f.admin)
	if err != nil {
		return "", "", fmt.Errorf("test server URL: %w", err)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

func (f *storyFixtures) drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, f.admin)
	if err != nil {
		f.t.Logf("drop %s: %v", name, err)
		return
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		f.t.Logf("drop %s: %v", name, err)
	}
}

// closeForTemplate ends every connection to the database dbName, so that it
// can be copied as a template.
func closeForTemplate(t *testing.T, dbName string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	c, err := pgx.Connect(ctx, pgtest.ServerURL(t))
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", dbName); err != nil {
		t.Fatalf("close the connections to %s: %v", dbName, err)
	}
}

// buildServe builds cmd/riskzone as it ships (no race detector, which slows
// a server several times: the first-render budget is about the product).
func buildServe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "riskzone")
	build := exec.Command("go", "build", "-o", bin, "../cmd/riskzone")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/riskzone: %v\n%s", err, out)
	}
	return bin
}

// startServe runs `bin serve` on a free loopback port against dsn and
// returns its base URL once /readyz answers 200, and a function that ends
// it and returns what it logged.
func startServe(bin, dsn string) (string, func() string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logs := &lockedBuffer{}
	srv := exec.Command(bin, "serve", "--addr", addr, "--log-level", "warn", "--insecure-dev")
	srv.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	srv.Stdout, srv.Stderr = logs, logs
	if err := srv.Start(); err != nil {
		return "", nil, fmt.Errorf("start riskzone serve: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Wait(); close(done) }()
	var once sync.Once
	stop := func() string {
		once.Do(func() {
			_ = srv.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = srv.Process.Kill()
				<-done
			}
		})
		return logs.String()
	}
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return base, stop, nil
			}
		}
		select {
		case <-done:
			return "", nil, fmt.Errorf("riskzone serve exited:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("riskzone serve on %s not ready in 60 s:\n%s", addr, stop())
		}
	}
}
