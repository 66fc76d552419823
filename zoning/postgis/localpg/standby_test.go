package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// standbyTestPrimary starts a small primary of its own for the standby tests,
// on RISKZONE_PG_PORT+1 in .data/standbytest (the standby takes +2), so that
// a base backup does not copy the shared test cluster. What a crashed earlier
// run left there (running servers, folders) is cleared first, and again when
// the test ends.
func standbyTestPrimary(t *testing.T, log *bytes.Buffer) *Config {
	t.Helper()
	root, err := FindRepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := New(root, log)
	if err != nil {
		t.Fatal(err)
	}
	lockStandbyPorts(t, shared.Port)
	dir := filepath.Join(filepath.Dir(shared.DataDir), "standbytest")
	c := &Config{RepoRoot: root, DataDir: filepath.Join(dir, "postgres"), RunDir: filepath.Join(dir, "run"),
		Port: shared.Port + 1, Log: log, ExtensionDir: shared.ExtensionDir}
	clear := func() {
		if all, err := c.Standbys(); err == nil {
			for _, s := range all {
				killCluster(s.DataDir)
			}
		}
		killCluster(c.DataDir)
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	}
	clear()
	t.Cleanup(clear)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start primary: %v\n%s", err, log)
	}
	return c
}

// lockStandbyPorts holds the ports above RISKZONE_PG_PORT for the test: the
// standby test of cmd/riskzone (cluster.sh STANDBYS) uses them too, and go
// test runs packages at once.
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

// killCluster stops whatever postmaster runs from dataDir without waiting
// for clients (a leftover of a crashed run, or the end of a test).
func killCluster(dataDir string) {
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); err != nil {
		return
	}
	bin, err := BinDir()
	if err != nil {
		return
	}
	_ = serverCmd(context.Background(), filepath.Join(bin, "pg_ctl"), "-D", dataDir, "-m", "immediate", "-w", "stop").Run()
}

func connect(t *testing.T, ctx context.Context, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitReplayed waits until the standby has replayed the primary's WAL up to
// its current insert position, polling pg_last_wal_replay_lsn() until the
// deadline. The insert position, not pg_current_wal_lsn(): the managed
// cluster commits asynchronously (synchronous_commit = off), so just after a
// commit the WAL written so far may still end before its commit record.
func waitReplayed(t *testing.T, ctx context.Context, primary, standby *pgx.Conn) {
	t.Helper()
	var target string
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_insert_lsn()::text").Scan(&target); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var done bool
		var at string
		if err := standby.QueryRow(ctx, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false), coalesce(pg_last_wal_replay_lsn()::text, '')", target).Scan(&done, &at); err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby replayed to %s, not to the primary's %s, within 30 s", at, target)
		}
		<-tick.C
	}
}

func countRows(t *testing.T, ctx context.Context, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM standby_probe").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A real hot standby on loopback: it replays the primary's writes, refuses
// its own, catches up after a stop, and once promoted takes writes with
// everything written before it still there.
func TestStandbyReplaysRefusesWritesAndPromotes(t *testing.T) {
	var log bytes.Buffer
	c := standbyTestPrimary(t, &log)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	primary := connect(t, ctx, c.URL())
	if _, err := primary.Exec(ctx, "CREATE TABLE standby_probe (id int PRIMARY KEY, v text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := primary.Exec(ctx, "INSERT INTO standby_probe VALUES (1, 'before the backup')"); err != nil {
		t.Fatal(err)
	}
	s, err := c.CreateStandby(ctx, "t1", c.Port+1)
	if err != nil {
		t.Fatalf("create standby: %v\n%s", err, &log)
	}
	if s.DataDir != filepath.Join(filepath.Dir(c.DataDir), "standby-t1") {
		t.Errorf("standby data folder %s: want it beside the primary's", s.DataDir)
	}
	standby := connect(t, ctx, s.URL())

	if _, err := primary.Exec(ctx, "INSERT INTO standby_probe VALUES (2, 'after the backup')"); err != nil {
		t.Fatal(err)
	}
	waitReplayed(t, ctx, primary, standby)
	var v string
	if err := standby.QueryRow(ctx, "SELECT v FROM standby_probe WHERE id = 2").Scan(&v); err != nil || v != "after the backup" {
		t.Fatalf("row 2 on the standby: %q, %v", v, err)
	}

	_, err = standby.Exec(ctx, "INSERT INTO standby_probe VALUES (3, 'on the standby')")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("a write on the standby: %v; want SQLSTATE 25006 (read-only transaction)", err)
	}

	states, err := c.StandbyStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || states[0].Name != "t1" || states[0].State != "standby" || states[0].Port != s.Port ||
		states[0].Streaming == "" || states[0].LagBytes < 0 || states[0].ReplayLSN == "" {
		t.Fatalf("standby states %+v: want t1 replaying, streaming, with a lag", states)
	}

	// Stopped, the standby keeps its slot; started again, it catches up.
	standby.Close(ctx)
	if err := c.StopStandby(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if states, err := c.StandbyStates(ctx); err != nil || states[0].State != "stopped" {
		t.Fatalf("after stop: %+v, %v", states, err)
	}
	if _, err := primary.Exec(ctx, "INSERT INTO standby_probe VALUES (3, 'while it was stopped')"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartStandby(ctx, "t1"); err != nil {
		t.Fatalf("start standby: %v\n%s", err, &log)
	}
	standby = connect(t, ctx, s.URL())
	waitReplayed(t, ctx, primary, standby)
	if n := countRows(t, ctx, standby); n != 3 {
		t.Fatalf("%d rows on the restarted standby; want 3", n)
	}

	if _, err := c.PromoteStandby(ctx, "t1"); err != nil {
		t.Fatalf("promote: %v\n%s", err, &log)
	}
	var inRecovery bool
	if err := standby.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || inRecovery {
		t.Fatalf("promoted standby in recovery: %v, %v", inRecovery, err)
	}
	if _, err := standby.Exec(ctx, "INSERT INTO standby_probe VALUES (4, 'after the promotion')"); err != nil {
		t.Fatalf("a write on the promoted standby: %v", err)
	}
	if n := countRows(t, ctx, standby); n != 4 {
		t.Fatalf("%d rows on the promoted standby; want the 3 written before and 1 after", n)
	}
	var slots int
	if err := primary.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", s.SlotName()).Scan(&slots); err != nil || slots != 0 {
		t.Fatalf("the old primary keeps %d slots for the promoted standby (%v); want its WAL released", slots, err)
	}
	if states, err := c.StandbyStates(ctx); err != nil || states[0].State != "promoted" {
		t.Fatalf("after promotion: %+v, %v", states, err)
	}

	standby.Close(ctx)
	if err := c.RemoveStandby(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.DataDir); !os.IsNotExist(err) {
		t.Fatalf("standby folder after remove: %v", err)
	}
	if s.Running(ctx) {
		t.Fatal("the removed standby still runs")
	}
}

// Names that are not safe as folder and slot names, a taken name, a port
// that is the primary's or taken, and commands on a standby that does not
// exist are refused and create nothing.
func TestStandbyRefusesBadRequests(t *testing.T) {
	var log bytes.Buffer
	c := standbyTestPrimary(t, &log)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, name := range []string{"", "A", "_x", "a-b", "../x", "a b", "abcdefghijabcdefghijabcdefghijk"} {
		if _, err := c.CreateStandby(ctx, name, 0); err == nil {
			t.Errorf("standby name %q was accepted", name)
		}
	}
	if _, err := c.CreateStandby(ctx, "p", c.Port); err == nil {
		t.Error("a standby on the primary's port was accepted")
	}
	if _, err := c.CreateStandby(ctx, "s1", 0); err != nil {
		t.Fatalf("create: %v\n%s", err, &log)
	}
	s1, err := c.Standby("s1", 0)
	if err != nil || s1.Port != c.Port+1 {
		t.Fatalf("s1 port %d (%v): want the first free port above the primary's", s1.Port, err)
	}
	if _, err := c.CreateStandby(ctx, "s1", 0); !errors.Is(err, ErrStandbyExists) {
		t.Errorf("a second s1: %v; want ErrStandbyExists", err)
	}
	if _, err := c.CreateStandby(ctx, "s2", s1.Port); err == nil {
		t.Error("a standby on a taken port was accepted")
	}
	for name, f := range map[string]func() error{
		"stop":    func() error { return c.StopStandby(ctx, "nope") },
		"remove":  func() error { return c.RemoveStandby(ctx, "nope") },
		"promote": func() error { _, err := c.PromoteStandby(ctx, "nope"); return err },
		"start":   func() error { _, err := c.StartStandby(ctx, "nope"); return err },
	} {
		if err := f(); !errors.Is(err, ErrNoStandby) {
			t.Errorf("%s of a missing standby: %v; want ErrNoStandby", name, err)
		}
	}
	all, err := c.Standbys()
	if err != nil || len(all) != 1 || all[0].Name != "s1" {
		t.Fatalf("standbys after the refusals: %v, %v; want s1 only", all, err)
	}

	// A standby whose folder was deleted by hand leaves its slot behind; a
	// new standby of that name takes the slot over rather than failing.
	primary := connect(t, ctx, c.URL())
	killCluster(s1.DataDir)
	if err := os.RemoveAll(s1.DataDir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var active bool
		if err := primary.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", s1.SlotName()).Scan(&active); err != nil {
			t.Fatalf("the slot of the deleted standby: %v", err)
		}
		if !active {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the killed standby's slot stayed active for 30 s")
		}
		time.Sleep(20 * time.Millisecond) // polling the slot's state, not waiting a guess
	}
	if _, err := c.CreateStandby(ctx, "s1", 0); err != nil {
		t.Fatalf("create over a leftover slot: %v\n%s", err, &log)
	}
	if err := c.RemoveStandby(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	var slots int
	if err := primary.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots").Scan(&slots); err != nil || slots != 0 {
		t.Fatalf("%d replication slots after remove (%v); want none keeping WAL", slots, err)
	}
}

func FuzzValidStandbyName(f *testing.F) {
	for _, s := range []string{"a", "s1", "read_1", "", "../x", "A", "a-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidStandbyName(name) != nil {
			return
		}
		if filepath.Base(name) != name || len(name) > 30 || name[0] == '_' {
			t.Fatalf("%q accepted", name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
				t.Fatalf("%q accepted", name)
			}
		}
	})
}
