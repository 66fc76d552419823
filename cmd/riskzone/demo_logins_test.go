package main

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// The demo logins have a published password: "riskzone demo logins"
// refuses a database named by DATABASE_URL and creates nothing in it.
func TestDemoLoginsRefusedForDatabaseURL(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	r := runCLI(t, []string{"DATABASE_URL=" + dsn}, 60*time.Second, "demo", "logins")
	if r.code == 0 {
		t.Fatalf("demo logins into a DATABASE_URL exited 0; stdout:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "managed development cluster") || !strings.Contains(r.stderr, "riskzone user add") {
		t.Errorf("the refusal does not say why and what to do instead:\n%s", r.stderr)
	}
	s, err := postgis.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the refused command left %d users in the database", n)
	}
}

// createDemoLogins makes two logins of each separated role with the demo
// password, and a second run changes nothing.
func TestCreateDemoLogins(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	o := zoning.Origin{Actor: zoning.CLI(), Reason: "test"}
	var out bytes.Buffer
	if err := createDemoLogins(ctx, s, o, &out); err != nil {
		t.Fatal(err)
	}
	roles := map[zoning.Role]int{}
	for _, l := range demoLogins {
		u, hash, err := s.LoginCredentials(ctx, l.name)
		if err != nil {
			t.Fatalf("login %s: %v", l.name, err)
		}
		if ok, err := zoning.VerifyPassword(DemoPassword, hash); err != nil || !ok {
			t.Fatalf("login %s does not take the demo password: %v %v", l.name, ok, err)
		}
		roles[u.Role]++
	}
	if roles[zoning.RoleExpert] < 2 || roles[zoning.RolePublisher] < 2 || roles[zoning.RoleAdmin] < 1 {
		t.Errorf("demo logins by role %v: want two experts and two publishers, so that each can confirm the other", roles)
	}
	out.Reset()
	if err := createDemoLogins(ctx, s, o, &out); err != nil || out.Len() != 0 {
		t.Fatalf("second run: %v, printed %q", err, out.String())
	}
}

// serve on the managed cluster says at start that it is for development;
// serve on a DATABASE_URL does not.
func TestServeWarnsOnManagedCluster(t *testing.T) {
	warned := func(t *testing.T, env []string) bool {
		t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(binary, "serve", "--addr", addr, "--log-format", "json", "--insecure-dev")
		cmd.Env = append(cleanEnv(), env...)
		var errb syncBuffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer cmd.Process.Kill()
		deadline := time.After(60 * time.Second)
		for !strings.Contains(errb.String(), `"msg":"listening"`) {
			select {
			case err := <-done:
				t.Fatalf("serve exited (%v) before listening; stderr:\n%s", err, errb.String())
			case <-deadline:
				t.Fatalf("serve did not start listening; stderr:\n%s", errb.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
		return strings.Contains(errb.String(), "managed development cluster")
	}
	if !warned(t, nil) {
		t.Error("serve on the managed cluster did not warn that it is a development database")
	}
	if warned(t, []string{"DATABASE_URL=" + pgtest.NewDatabase(t)}) {
		t.Error("serve on a DATABASE_URL warned about the managed cluster")
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
