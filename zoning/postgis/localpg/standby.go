package localpg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ReplicationRole is the login pg_basebackup and the standbys' WAL receivers
// use on the primary. It may replicate and nothing else; like every login of
// the managed cluster it is trusted on loopback only.
const ReplicationRole = "riskzone_replication"

// ErrStandbyExists is returned when a standby of that name already has a data
// folder.
var ErrStandbyExists = errors.New("standby exists")

// ErrNoStandby is returned for a name that has no standby data folder.
var ErrNoStandby = errors.New("no such standby")

var standbyName = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,29}$`)

// ValidStandbyName checks a standby name: 1 to 30 lowercase letters, digits
// or underscores, starting with a letter or digit, so that it is safe in a
// folder name and in a replication slot name without quoting.
func ValidStandbyName(name string) error {
	if !standbyName.MatchString(name) {
		return fmt.Errorf("standby name %q: want 1 to 30 of a-z, 0-9 and _ (not first)", name)
	}
	return nil
}

// Standby is a hot standby of the managed cluster: a Config of its own (its
// data folder beside the primary's, its socket, log and lock in a run folder
// of its own) plus its name.
type Standby struct {
	*Config
	Name string
}

// SlotName is the physical replication slot the standby streams from, so the
// primary keeps the WAL a stopped standby still needs.
func (s *Standby) SlotName() string { return "riskzone_standby_" + s.Name }

// Standby describes the standby called name (it need not exist). Its port is
// read from its configuration when it exists, else it is port.
func (c *Config) Standby(name string, port int) (*Standby, error) {
	if err := ValidStandbyName(name); err != nil {
		return nil, err
	}
	base := filepath.Dir(c.DataDir)
	s := &Standby{Name: name, Config: &Config{
		RepoRoot:     c.RepoRoot,
		DataDir:      filepath.Join(base, "standby-"+name),
		RunDir:       filepath.Join(c.RunDir, "standby-"+name),
		Port:         port,
		Log:          c.Log,
		ExtensionDir: c.ExtensionDir,
	}}
	if p, err := configuredPort(s.DataDir); err == nil {
		s.Port = p
	}
	return s, nil
}

// configuredPort reads the port a standby was created with (the last
// `port = N` line of its postgresql.conf, written by CreateStandby).
func configuredPort(dataDir string) (int, error) {
	f, err := os.Open(filepath.Join(dataDir, "postgresql.conf"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	port := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(k) == "port" {
			if p, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				port = p
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s/postgresql.conf: %w", dataDir, err)
	}
	if port == 0 {
		return 0, fmt.Errorf("%s/postgresql.conf names no port", dataDir)
	}
	return port, nil
}

// Standbys lists the standbys that have a data folder, by name.
func (c *Config) Standbys() ([]*Standby, error) {
	dirs, err := filepath.Glob(filepath.Join(filepath.Dir(c.DataDir), "standby-*"))
	if err != nil {
		return nil, fmt.Errorf("list standbys: %w", err)
	}
	sort.Strings(dirs)
	var out []*Standby
	for _, d := range dirs {
		s, err := c.Standby(strings.TrimPrefix(filepath.Base(d), "standby-"), 0)
		if err != nil {
			continue // not one of ours
		}
		out = append(out, s)
	}
	return out, nil
}

// freeStandbyPort picks the first port above the primary's that no standby is
// configured with and nothing listens on.
func (c *Config) freeStandbyPort() (int, error) {
	taken := map[int]bool{c.Port: true}
	all, err := c.Standbys()
	if err != nil {
		return 0, err
	}
	for _, s := range all {
		taken[s.Port] = true
	}
	for p := c.Port + 1; p <= c.Port+20 && p <= 65535; p++ {
		if !taken[p] && !portBusy(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port from %d to %d for a standby: pass --port", c.Port+1, c.Port+20)
}

// EnsureReplication makes the running primary ready to feed standbys on
// loopback: wal_level must be replica or logical and WAL senders allowed (the
// PostgreSQL 15 defaults, written out by initdb here); the replication role
// exists; pg_hba admits it for replication from 127.0.0.1 only.
func (c *Config) EnsureReplication(ctx context.Context) error {
	bin, err := BinDir()
	if err != nil {
		return err
	}
	if !c.Running(ctx) {
		return fmt.Errorf("the primary in %s is not running: riskzone db start", c.DataDir)
	}
	level, err := c.psql(ctx, bin, "postgres", "SHOW wal_level")
	if err != nil {
		return err
	}
	senders, err := c.psql(ctx, bin, "postgres", "SHOW max_wal_senders")
	if err != nil {
		return err
	}
	if n, _ := strconv.Atoi(senders); level == "minimal" || n < 1 {
		return fmt.Errorf("the primary has wal_level=%s, max_wal_senders=%s: set wal_level = replica and max_wal_senders = 10 in %s/postgresql.conf and restart it (riskzone db stop; riskzone db start)", level, senders, c.DataDir)
	}
	exists, err := c.psql(ctx, bin, "postgres", fmt.Sprintf("SELECT 1 FROM pg_roles WHERE rolname = '%s'", ReplicationRole))
	if err != nil {
		return err
	}
	verb := "CREATE"
	if exists == "1" {
		verb = "ALTER"
	}
	if _, err := c.psql(ctx, bin, "postgres", fmt.Sprintf("%s ROLE %s LOGIN REPLICATION", verb, ReplicationRole)); err != nil {
		return fmt.Errorf("role %s: %w", ReplicationRole, err)
	}
	rule, err := c.psql(ctx, bin, "postgres", `SELECT count(*) FROM pg_hba_file_rules
		WHERE type = 'host' AND 'replication' = ANY(database) AND address = '127.0.0.1'
		AND ('all' = ANY(user_name) OR '`+ReplicationRole+`' = ANY(user_name))`)
	if err != nil {
		return err
	}
	if rule != "0" {
		return nil
	}
	// initdb writes this line itself; a pg_hba edited by hand may lack it.
	f, err := os.OpenFile(filepath.Join(c.DataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open pg_hba.conf: %w", err)
	}
	_, werr := fmt.Fprintf(f, "\n# riskzone standbys stream over loopback only\nhost replication %s 127.0.0.1/32 trust\n", ReplicationRole)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write pg_hba.conf: %w", werr)
	}
	if _, err := c.psql(ctx, bin, "postgres", "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("reload the primary's pg_hba.conf: %w", err)
	}
	return nil
}

// CreateStandby makes a hot standby of the running primary with
// `pg_basebackup -R` over loopback, streaming from a replication slot of its
// own, and starts it. Port 0 picks a free port above the primary's.
func (c *Config) CreateStandby(ctx context.Context, name string, port int) (*Standby, error) {
	s, err := c.Standby(name, port)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.DataDir); err == nil {
		return nil, fmt.Errorf("%w: %s (riskzone db standby remove %s)", ErrStandbyExists, s.DataDir, name)
	}
	if port == 0 {
		if s.Port, err = c.freeStandbyPort(); err != nil {
			return nil, err
		}
	} else if port < 1024 || port > 65535 || port == c.Port {
		return nil, fmt.Errorf("standby port %d: want a free port from 1024 to 65535 other than the primary's %d", port, c.Port)
	}
	if portBusy(s.Port) {
		return nil, fmt.Errorf("port 127.0.0.1:%d is taken by another server: pick another --port", s.Port)
	}
	if err := c.EnsureReplication(ctx); err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// A slot left by a standby whose folder was deleted by hand would keep WAL
	// forever and make pg_basebackup -C fail: it has no folder, so drop it.
	if err := c.dropSlot(ctx, bin, s.SlotName()); err != nil {
		return nil, err
	}
	for _, d := range []string{s.DataDir, s.RunDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
		if err := chownPostgres(d); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(c.Log, "riskzone: copying the primary on 127.0.0.1:%d into %s (pg_basebackup -R, slot %s)\n", c.Port, s.DataDir, s.SlotName())
	if err := run(serverCmd(ctx, filepath.Join(bin, "pg_basebackup"), "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port),
		"-U", ReplicationRole, "-D", s.DataDir, "-R", "-X", "stream", "-C", "-S", s.SlotName(), "-c", "fast", "--no-password")); err != nil {
		_ = os.RemoveAll(s.DataDir)
		_ = os.RemoveAll(s.RunDir)
		_ = c.dropSlot(ctx, bin, s.SlotName())
		return nil, fmt.Errorf("base backup for standby %s: %w", name, err)
	}
	// cluster_name becomes the WAL receiver's application_name, the key of the
	// standby's row in the primary's pg_stat_replication.
	conf := fmt.Sprintf("\n# riskzone standby %s\nport = %d\ncluster_name = 'standby-%s'\nhot_standby = on\nhot_standby_feedback = on\n", name, s.Port, name)
	f, err := os.OpenFile(filepath.Join(s.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open standby postgresql.conf: %w", err)
	}
	_, werr := f.WriteString(conf)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, fmt.Errorf("write standby postgresql.conf: %w", werr)
	}
	if err := s.startServer(ctx, bin); err != nil {
		return nil, err
	}
	return s, nil
}

// dropSlot drops the physical slot name on the primary when it exists and no
// standby streams from it.
func (c *Config) dropSlot(ctx context.Context, bin, name string) error {
	_, err := c.psql(ctx, bin, "postgres", fmt.Sprintf(
		"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '%s' AND NOT active", name))
	if err != nil {
		return fmt.Errorf("drop replication slot %s: %w", name, err)
	}
	return nil
}

// existing is the standby called name, which must have a data folder.
func (c *Config) existing(name string) (*Standby, error) {
	s, err := c.Standby(name, 0)
	if err != nil {
		return nil, err
	}
	if !s.initialized() {
		return nil, fmt.Errorf("%w %q (no data folder %s)", ErrNoStandby, name, s.DataDir)
	}
	return s, nil
}

// StartStandby starts a stopped standby; it catches up from its slot.
func (c *Config) StartStandby(ctx context.Context, name string) (*Standby, error) {
	s, err := c.existing(name)
	if err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if s.Running(ctx) {
		return s, nil
	}
	if portBusy(s.Port) {
		return nil, fmt.Errorf("port 127.0.0.1:%d of standby %s is taken by another server", s.Port, name)
	}
	return s, s.startServer(ctx, bin)
}

// StopStandby stops a standby (fast mode); its slot keeps the WAL it needs.
func (c *Config) StopStandby(ctx context.Context, name string) error {
	s, err := c.existing(name)
	if err != nil {
		return err
	}
	return s.Stop(ctx)
}

// RemoveStandby stops a standby, drops its slot on the primary and deletes
// its folders. A primary that is down keeps the slot: the error says so.
func (c *Config) RemoveStandby(ctx context.Context, name string) error {
	s, err := c.existing(name)
	if err != nil {
		return err
	}
	if err := s.Stop(ctx); err != nil {
		return err
	}
	if err := os.RemoveAll(s.DataDir); err != nil {
		return fmt.Errorf("remove %s: %w", s.DataDir, err)
	}
	if err := os.RemoveAll(s.RunDir); err != nil {
		return fmt.Errorf("remove %s: %w", s.RunDir, err)
	}
	return c.forgetSlot(ctx, s)
}

// forgetSlot drops the standby's slot on the primary, which otherwise keeps
// WAL for it without bound.
func (c *Config) forgetSlot(ctx context.Context, s *Standby) error {
	bin, err := BinDir()
	if err != nil {
		return err
	}
	if !c.Running(ctx) {
		return fmt.Errorf("the primary is not running, so its replication slot %s remains: start it and run SELECT pg_drop_replication_slot('%s')", s.SlotName(), s.SlotName())
	}
	return c.dropSlot(ctx, bin, s.SlotName())
}

// PromoteStandby turns a running standby into a primary of its own
// (`pg_ctl promote`): it stops following, accepts writes, and keeps
// everything it had replayed. The old primary's slot for it is dropped when
// the old primary is still up. Point DATABASE_URL at the returned standby's
// AppURL.
func (c *Config) PromoteStandby(ctx context.Context, name string) (*Standby, error) {
	s, err := c.existing(name)
	if err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if !s.Running(ctx) {
		return nil, fmt.Errorf("standby %s is not running: riskzone db standby start %s", name, name)
	}
	if err := run(serverCmd(ctx, filepath.Join(bin, "pg_ctl"), "-D", s.DataDir, "-w", "-t", "60", "promote")); err != nil {
		return nil, fmt.Errorf("promote standby %s: %w", name, err)
	}
	if c.Running(ctx) {
		if err := c.dropSlot(ctx, bin, s.SlotName()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// StandbyState is what `riskzone db standby status` prints for one standby.
type StandbyState struct {
	Name, DataDir string
	Port          int
	// State is "stopped", "standby" (replaying) or "promoted".
	State string
	// ReplayLSN is pg_last_wal_replay_lsn() on the standby.
	ReplayLSN string
	// LagBytes is how far replay is behind the primary's current WAL
	// position; -1 when either side cannot say.
	LagBytes int64
	// Streaming is the primary's pg_stat_replication state for the standby
	// ("streaming", "catchup"…), "" when it has no WAL sender for it.
	Streaming string
	// ReplayLag is pg_stat_replication.replay_lag ("" when idle or unknown).
	ReplayLag string
}

// StandbyStates reports every standby's state and replay lag.
func (c *Config) StandbyStates(ctx context.Context) ([]StandbyState, error) {
	all, err := c.Standbys()
	if err != nil {
		return nil, err
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	primaryLSN := ""
	senders := map[string][2]string{}
	if c.Running(ctx) {
		if primaryLSN, err = c.psql(ctx, bin, "postgres", "SELECT pg_current_wal_insert_lsn()"); err != nil {
			return nil, err
		}
		rows, err := c.psql(ctx, bin, "postgres", "SELECT application_name, state, coalesce(replay_lag::text, '') FROM pg_stat_replication")
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(rows, "\n") {
			if f := strings.Split(line, "|"); len(f) == 3 {
				senders[f[0]] = [2]string{f[1], f[2]}
			}
		}
	}
	var out []StandbyState
	for _, s := range all {
		st := StandbyState{Name: s.Name, DataDir: s.DataDir, Port: s.Port, State: "stopped", LagBytes: -1}
		if sn, ok := senders["standby-"+s.Name]; ok {
			st.Streaming, st.ReplayLag = sn[0], sn[1]
		}
		if s.Running(ctx) {
			row, err := s.psql(ctx, bin, "postgres", "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn()::text, '')")
			if err != nil {
				return nil, fmt.Errorf("standby %s: %w", s.Name, err)
			}
			rec, lsn, _ := strings.Cut(row, "|")
			st.State, st.ReplayLSN = "promoted", lsn
			if rec == "t" {
				st.State = "standby"
			}
			if rec == "t" && lsn != "" && primaryLSN != "" {
				lag, err := s.psql(ctx, bin, "postgres", fmt.Sprintf("SELECT greatest(pg_wal_lsn_diff('%s', '%s'), 0)::bigint", primaryLSN, lsn))
				if err != nil {
					return nil, fmt.Errorf("standby %s lag: %w", s.Name, err)
				}
				st.LagBytes, _ = strconv.ParseInt(lag, 10, 64)
			}
		}
		out = append(out, st)
	}
	return out, nil
}
