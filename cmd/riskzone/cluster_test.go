package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis/pgtest"
)

// clusterScript runs scripts/cluster.sh (what `make cluster` runs) with the
// test's binary, its database, its pid folder and env, and returns the exit
// code and the output.
func clusterScript(t *testing.T, env []string, arg string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "scripts", "cluster.sh"), arg)
	cmd.Env = append(cleanEnv(), append([]string{"BIN=" + binary}, env...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cluster.sh %s did not finish in 90 s:\n%s", arg, out.String())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatalf("cluster.sh %s: %v", arg, err)
	}
	return 0, out.String()
}

// freePorts finds n consecutive free loopback ports.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if base+n > 65535 {
			continue
		}
		free := true
		for p := base; p < base+n && free; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no run of free ports found")
	return 0
}

// ended reports whether the process pid is gone (a zombie nobody reaped
// counts as gone: it serves nothing).
func ended(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

// `make cluster`'s script starts three replicas on one database, each
// answering /readyz on its port; status lists them as ready; stop ends
// every process and frees the ports.
func TestClusterScript(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	base := freePorts(t, 3)
	env := []string{"DATABASE_URL=" + pgtest.AppURL(t, dsn), "RISKZONE_MIGRATE_DATABASE_URL=" + dsn, "REPLICAS=3", "BASE_PORT=" + strconv.Itoa(base), "CLUSTER_DIR=" + dir, "SERVE_FLAGS=--log-level warn"}
	var pids []int
	t.Cleanup(func() { // whatever happened, nothing outlives the test
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	code, out := clusterScript(t, env, "start")
	// Read the pid files first, so that cleanup has them even when start failed.
	for i := 0; i < 3; i++ {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("replica-%d.pid", base+i)))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("pid file of replica %d: %q", i+1, b)
		}
		pids = append(pids, pid)
	}
	if code != 0 {
		t.Fatalf("cluster.sh start: exit %d\n%s", code, out)
	}
	if len(pids) != 3 {
		t.Fatalf("%d pid files after start, want 3:\n%s", len(pids), out)
	}
	for i, pid := range pids {
		port := base + i
		if !strings.Contains(out, fmt.Sprintf("replica %d: http://127.0.0.1:%d/ (pid %d", i+1, port, pid)) {
			t.Errorf("start did not report replica %d on port %d (pid %d):\n%s", i+1, port, pid, out)
		}
		if ended(pid) {
			t.Errorf("replica %d (pid %d) is not running", i+1, pid)
		}
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
		if err != nil {
			t.Fatalf("replica %d: %v", i+1, err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("replica %d /readyz: %d", i+1, res.StatusCode)
		}
	}
	code, out = clusterScript(t, env, "status")
	if code != 0 || strings.Count(out, ": ready") != 3 {
		t.Errorf("status: exit %d, want 3 ready replicas:\n%s", code, out)
	}

	code, out = clusterScript(t, env, "stop")
	if code != 0 {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	for i, pid := range pids {
		deadline := time.Now().Add(10 * time.Second)
		for !ended(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !ended(pid) {
			t.Errorf("replica %d (pid %d) still runs after stop", i+1, pid)
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", base+i), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still accepts connections after stop", base+i)
		}
		if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("replica-%d.pid", base+i))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pid file of replica %d left after stop (%v)", i+1, err)
		}
	}
	if code, out = clusterScript(t, env, "status"); code != 0 || !strings.Contains(out, "no replicas") {
		t.Errorf("status after stop: exit %d:\n%s", code, out)
	}
}

// A port taken by another server (one that answers /readyz) makes start
// fail, rather than pass that server off as a ready replica.
func TestClusterScriptPortTaken(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer other.Close()
	port := other.Listener.Addr().(*net.TCPAddr).Port
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + pgtest.AppURL(t, dsn), "RISKZONE_MIGRATE_DATABASE_URL=" + dsn, "REPLICAS=1", "BASE_PORT=" + strconv.Itoa(port), "CLUSTER_DIR=" + dir}
	code, out := clusterScript(t, env, "start")
	if b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("replica-%d.pid", port))); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if code == 0 || !strings.Contains(out, fmt.Sprintf("port %d is taken", port)) {
		t.Fatalf("start on a taken port: exit %d, want a failure naming the taken address:\n%s", code, out)
	}
}
