package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// binary is the riskzone command built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "riskzone-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Readable by other users: one test runs the binary as an unprivileged user.
	_ = os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "riskzone")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build riskzone:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
	elapsed        time.Duration
}

func runCLI(t *testing.T, env []string, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run riskzone %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("riskzone %v did not finish within %s; stderr:\n%s", args, timeout, r.stderr)
	}
	return r
}

// cleanEnv drops DATABASE_URL and RISKZONE_MIGRATE_DATABASE_URL so each
// test says which database it means.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "RISKZONE_MIGRATE_DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

func TestHelpOnEverySubcommand(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"db", "--help"},
		{"db", "start", "--help"}, {"db", "stop", "--help"}, {"db", "status", "--help"}, {"db", "url", "--help"},
		{"demo", "--help"}, {"user", "--help"}, {"user", "add", "--help"}, {"user", "list", "--help"},
		{"user", "token", "--help"}, {"version", "--help"},
	} {
		r := runCLI(t, nil, 20*time.Second, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("riskzone %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	r := runCLI(t, nil, 20*time.Second, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "riskzone ") || !strings.Contains(r.stdout, "schema ") {
		t.Fatalf("version: %+v", r)
	}
}

// An unreachable DATABASE_URL makes serve exit non-zero within 10 s, naming
// the URL with its password masked: both a refused port and a server that
// accepts the connection but never answers.
func TestServeUnreachableDatabase(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	for name, hostport := range map[string]string{"refused": refusedAddr, "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			url := "postgres://rz:s3cr3t-pw@" + hostport + "/riskzone?sslmode=disable"
			r := runCLI(t, []string{"DATABASE_URL=" + url}, 30*time.Second, "serve", "--addr", "127.0.0.1:0", "--insecure-dev")
			if r.code == 0 {
				t.Fatalf("serve exited 0 with an unreachable database")
			}
			if r.elapsed > 10*time.Second {
				t.Errorf("serve took %s to give up; want < 10s", r.elapsed)
			}
			if !strings.Contains(r.stderr, hostport) {
				t.Errorf("the message does not name the URL %s:\n%s", hostport, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, "s3cr3t-pw") {
				t.Errorf("the password was printed:\n%s", r.stderr)
			}
		})
	}
}

func TestServeBusyPort(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := runCLI(t, []string{"DATABASE_URL=" + pgtest.AppURL(t, dsn)}, 30*time.Second, "serve", "--addr", ln.Addr().String(), "--insecure-dev")
	if r.code == 0 || !strings.Contains(r.stderr, "already in use") || !strings.Contains(r.stderr, ln.Addr().String()) {
		t.Fatalf("busy port: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// serve answers /healthz and /readyz and stops cleanly on SIGTERM.
func TestServeReadyAndGracefulShutdown(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(binary, "serve", "--addr", addr, "--log-format", "json", "--insecure-dev")
	cmd.Env = append(cleanEnv(), "DATABASE_URL="+pgtest.AppURL(t, dsn))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), "ready") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve never became ready; stderr:\n%s", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM; stderr:\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop within 20s of SIGTERM")
	}
	if !strings.Contains(errb.String(), `"msg":"shutting down"`) {
		t.Errorf("no structured shutdown log line:\n%s", errb.String())
	}
}

// A non-root user on a machine without PostGIS is told what to install.
func TestNonRootWithoutPostGISGetsInstallHint(t *testing.T) {
	repo := t.TempDir()
	if err := os.Chmod(repo, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noExt := t.TempDir()
	cmd := exec.Command(binary, "db", "start")
	cmd.Dir = repo
	cmd.Env = append(cleanEnv(), "RISKZONE_PG_EXTENSION_DIR="+noExt, "HOME="+repo)
	if os.Geteuid() == 0 {
		// Drop to an unprivileged user for this run.
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("no user nobody to run as: %v", err)
		}
		cmd = exec.Command("setpriv", append([]string{"--reuid=" + u.Uid, "--regid=" + u.Gid, "--clear-groups", binary}, "db", "start")...)
		cmd.Dir = repo
		cmd.Env = append(cleanEnv(), "RISKZONE_PG_EXTENSION_DIR="+noExt, "HOME="+repo)
		// The test's temp folders are 0700 by default; let nobody in.
		for d := filepath.Dir(repo); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o755)
		}
		_ = os.Chmod(filepath.Dir(repo), 0o755)
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("db start succeeded without PostGIS:\n%s", out)
	}
	if !strings.Contains(string(out), "postgresql-15-postgis-3") {
		t.Fatalf("the message does not name the package to install:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(repo, ".data", "postgres", "PG_VERSION")); err == nil {
		t.Fatal("a cluster was created although PostGIS is missing")
	}
}
