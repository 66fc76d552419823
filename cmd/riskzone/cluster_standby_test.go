package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskzone/riskzone/zoning/postgis/localpg"
)

// lockStandbyPorts holds the ports above RISKZONE_PG_PORT for the test: the
// standby test of zoning/postgis/localpg uses them too, and go test runs
// packages at once.
func lockStandbyPorts(t *testing.T, port int) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), fmt.Sprintf("riskzone-standby-ports-%d.lock", port)), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

// cluster.sh with STANDBYS=1 starts a hot standby of the managed cluster
// beside the replica and prints its URL; status shows it streaming; stop
// stops it; a second start resumes the same standby. Bad STANDBYS values and
// DATABASE_URL are refused.
func TestClusterScriptStandbys(t *testing.T) {
	primary := localpg.DefaultPort
	if p, err := strconv.Atoi(os.Getenv("RISKZONE_PG_PORT")); err == nil {
		primary = p
	}
	lockStandbyPorts(t, primary)
	dir := t.TempDir()
	base := freePorts(t, 1)
	standbyPort := primary + 1
	env := []string{"REPLICAS=1", "BASE_PORT=" + strconv.Itoa(base), "CLUSTER_DIR=" + dir, "SERVE_FLAGS=--log-level warn",
		"STANDBYS=1", "STANDBY_PORT=" + strconv.Itoa(standbyPort)}
	remove := func() { runCLI(t, nil, 60*time.Second, "db", "standby", "remove", "cluster1") }
	remove() // a crashed earlier run's standby
	t.Cleanup(func() {
		clusterScript(t, env, "stop")
		remove()
	})

	code, out := clusterScript(t, env, "start")
	if code != 0 {
		t.Fatalf("cluster.sh start with STANDBYS=1: exit %d\n%s", code, out)
	}
	url := fmt.Sprintf("standby 1: postgres://riskzone_app@127.0.0.1:%d/riskzone", standbyPort)
	if !strings.Contains(out, url) || !strings.Contains(out, "copying the primary") || !strings.Contains(out, "replica 1: http://127.0.0.1:"+strconv.Itoa(base)) {
		t.Fatalf("start did not report the replica and %q:\n%s", url, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://riskzone_app@127.0.0.1:%d/riskzone?sslmode=disable", standbyPort))
	if err != nil {
		t.Fatal(err)
	}
	var recovering bool
	err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&recovering)
	conn.Close(ctx)
	if err != nil || !recovering {
		t.Fatalf("the standby is in recovery: %v, %v", recovering, err)
	}
	if code, out := clusterScript(t, env, "status"); code != 0 || !strings.Contains(out, ": ready") || !regexpStreaming(out) {
		t.Errorf("status: exit %d, want the ready replica and cluster1 streaming:\n%s", code, out)
	}

	if code, out := clusterScript(t, env, "stop"); code != 0 || !strings.Contains(out, "stopped standby cluster1") {
		t.Fatalf("stop: exit %d\n%s", code, out)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", standbyPort), time.Second); err == nil {
		c.Close()
		t.Fatalf("the standby's port %d still accepts connections after stop", standbyPort)
	}
	if code, out := clusterScript(t, env, "start"); code != 0 || !strings.Contains(out, url) || strings.Contains(out, "copying the primary") {
		t.Fatalf("second start: exit %d, want the same standby resumed, not copied again:\n%s", code, out)
	}

	for _, bad := range [][]string{
		{"STANDBYS=3"},
		{"STANDBYS=1", "DATABASE_URL=postgres://u@127.0.0.1:1/x"},
	} {
		badEnv := append([]string{"REPLICAS=1", "BASE_PORT=" + strconv.Itoa(base+1), "CLUSTER_DIR=" + t.TempDir()}, bad...)
		if code, out := clusterScript(t, badEnv, "start"); code != 2 || !strings.Contains(out, "STANDBYS") {
			t.Errorf("start with %v: exit %d, want 2 and a message naming STANDBYS:\n%s", bad, code, out)
		}
	}
}

// regexpStreaming reports whether the status output lists cluster1 as a
// streaming standby.
func regexpStreaming(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "cluster1" && f[2] == "standby" && f[3] == "streaming" {
			return true
		}
	}
	return false
}
