// Package localpg manages the project's own PostgreSQL + PostGIS cluster: the
// default store when no DATABASE_URL is given.
//
// The cluster lives in a data folder under the repository (.data/postgres),
// listens on 127.0.0.1 at a fixed non-standard port and on a Unix socket in
// .data/run, and is started and stopped with pg_ctl. PostgreSQL refuses to
// run as root, so when this process is root every server-side command runs as
// the Debian `postgres` system user (runuser) and the data folder is owned by
// that user. When that user cannot reach the repository (a clone under a 0700
// home folder), the cluster is kept under /var/lib/riskzone instead and the
// chosen place is reported.
package localpg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/riskzone/riskzone/zoning/postgis"
)

// DefaultPort is the fixed non-standard port of the managed cluster.
const DefaultPort = 54329

// PostGISPackage is the Debian package that provides PostGIS for PostgreSQL 15.
const PostGISPackage = "postgresql-15-postgis-3"

// DBName is the database the managed cluster serves to riskzone.
const DBName = "riskzone"

// ErrPostGISMissing is returned when PostGIS is not installed and cannot be
// installed by this process.
var ErrPostGISMissing = errors.New("PostGIS is not installed")

// Config describes where the managed cluster lives. Build it with New.
type Config struct {
	// RepoRoot is the repository the cluster belongs to.
	RepoRoot string
	// DataDir is the PostgreSQL data directory (PGDATA).
	DataDir string
	// RunDir holds the Unix socket, the server log and the lock file.
	RunDir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Log receives progress messages meant for a person at a terminal.
	Log io.Writer
	// ExtensionDir is where PostgreSQL keeps extension files; PostGIS counts
	// as installed when postgis.control is there. RISKZONE_PG_EXTENSION_DIR
	// overrides the Debian default for other layouts.
	ExtensionDir string
}

// New picks the data folder for the repository at repoRoot. The port is
// DefaultPort unless RISKZONE_PG_PORT is set. It creates nothing.
func New(repoRoot string, log io.Writer) (*Config, error) {
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, fmt.Errorf("resolve repository root %q: %w", repoRoot, err)
	}
	if log == nil {
		log = io.Discard
	}
	port := DefaultPort
	if p := os.Getenv("RISKZONE_PG_PORT"); p != "" {
		port, err = strconv.Atoi(p)
		if err != nil || port < 1024 || port > 65535 {
			return nil, fmt.Errorf("RISKZONE_PG_PORT=%q: want a port number from 1024 to 65535", p)
		}
	}
	base := filepath.Join(abs, ".data")
	if asRoot() && !postgresCanReach(abs) {
		sum := sha256.Sum256([]byte(abs))
		base = filepath.Join("/var/lib/riskzone", filepath.Base(abs)+"-"+hex.EncodeToString(sum[:4]))
	}
	return &Config{
		RepoRoot:     abs,
		DataDir:      filepath.Join(base, "postgres"),
		RunDir:       filepath.Join(base, "run"),
		Port:         port,
		Log:          log,
		ExtensionDir: envOr("RISKZONE_PG_EXTENSION_DIR", "/usr/share/postgresql/15/extension"),
	}, nil
}

// FindRepoRoot walks up from dir to the folder holding go.mod.
func FindRepoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", dir, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above %s: run riskzone from its repository or set DATABASE_URL", dir)
		}
		d = parent
	}
}

// URL is the connection string of the riskzone database in the cluster as
// the cluster's superuser: the migration login (postgis.Migrate acts as the
// owner role from it) and the one for administration.
func (c *Config) URL() string {
	return c.DatabaseURL(DBName)
}

// AppURL is the connection string of the riskzone database as the app role,
// the one `serve` and the data commands use.
func (c *Config) AppURL() string {
	return c.DatabaseURLAs(DBName, postgis.AppRole)
}

// DatabaseURLAs is the connection string of database name as role user
// (trust on loopback: the managed cluster is for development).
func (c *Config) DatabaseURLAs(name, user string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, c.Port, name)
}

// DatabaseURL is the connection string of database name in the cluster.
func (c *Config) DatabaseURL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, name)
}

// Relocated reports whether the cluster lives outside the repository because
// the postgres user cannot reach it.
func (c *Config) Relocated() bool {
	return !strings.HasPrefix(c.DataDir, c.RepoRoot+string(filepath.Separator))
}

func asRoot() bool { return os.Geteuid() == 0 }

// postgresCanReach reports whether the postgres system user can enter dir
// (it needs search permission on every ancestor).
func postgresCanReach(dir string) bool {
	if _, err := user.Lookup("postgres"); err != nil {
		return false
	}
	return exec.Command("runuser", "-u", "postgres", "--", "test", "-x", dir).Run() == nil
}

// BinDir finds the PostgreSQL 15 server programs.
func BinDir() (string, error) {
	candidates := []string{"/usr/lib/postgresql/15/bin"}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	for _, d := range candidates {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL 15 server not found (looked in %s): install the Debian package postgresql-15", strings.Join(candidates, ", "))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// postgisInstalled reports whether the PostGIS extension files are present.
func (c *Config) postgisInstalled() bool {
	_, err := os.Stat(filepath.Join(c.ExtensionDir, "postgis.control"))
	return err == nil
}

// EnsureInstalled makes sure the PostgreSQL server and PostGIS are present. As
// root it installs what is missing with apt-get and says so; otherwise it
// fails with a message that names the package to install.
func (c *Config) EnsureInstalled(ctx context.Context) error {
	_, binErr := BinDir()
	if binErr == nil && c.postgisInstalled() {
		return nil
	}
	if !asRoot() {
		return fmt.Errorf("%w: install the Debian package %s (sudo apt-get install %s) or set DATABASE_URL to a PostGIS server",
			ErrPostGISMissing, PostGISPackage, PostGISPackage)
	}
	fmt.Fprintf(c.Log, "riskzone: installing %s with apt-get (PostgreSQL 15 + PostGIS 3 are missing)\n", PostGISPackage)
	if err := aptInstall(ctx, c.Log, PostGISPackage); err != nil {
		return fmt.Errorf("install %s: %w", PostGISPackage, err)
	}
	if !c.postgisInstalled() {
		return fmt.Errorf("%w even after apt-get install %s", ErrPostGISMissing, PostGISPackage)
	}
	return nil
}

func aptInstall(ctx context.Context, log io.Writer, pkgs ...string) error {
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	upd := exec.CommandContext(ctx, "apt-get", "update", "-qq")
	upd.Env, upd.Stdout, upd.Stderr = env, log, log
	if err := upd.Run(); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)
	inst := exec.CommandContext(ctx, "apt-get", args...)
	inst.Env, inst.Stdout, inst.Stderr = env, log, log
	if err := inst.Run(); err != nil {
		return fmt.Errorf("apt-get install %s: %w", strings.Join(pkgs, " "), err)
	}
	return nil
}

// serverCmd builds a command that runs as the postgres user when this process
// is root, and as the current user otherwise.
func serverCmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	if asRoot() {
		return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.CommandContext(ctx, name, args...)
}

func run(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// lock takes an exclusive file lock so that concurrent starts (parallel test
// binaries, two terminals) do not race on initdb or pg_ctl.
func (c *Config) lock() (func(), error) {
	if err := os.MkdirAll(c.RunDir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", c.RunDir, err)
	}
	f, err := os.OpenFile(filepath.Join(c.RunDir, "cluster.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open cluster lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock cluster: %w", err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// chownPostgres hands path to the postgres user when running as root.
func chownPostgres(path string) error {
	if !asRoot() {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("look up the postgres system user (created by the postgresql package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", path, err)
	}
	return nil
}

func (c *Config) initialized() bool {
	_, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION"))
	return err == nil
}

// Running reports whether the cluster's postmaster answers.
func (c *Config) Running(ctx context.Context) bool {
	bin, err := BinDir()
	if err != nil {
		return false
	}
	return exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port)).Run() == nil && c.initialized() && c.ownsPort()
}

// ownsPort reports whether the postmaster of this data folder is the one
// listening on the port (and not another clone's cluster).
func (c *Config) ownsPort() bool {
	pid, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	lines := strings.Split(string(pid), "\n")
	return len(lines) > 3 && strings.TrimSpace(lines[3]) == strconv.Itoa(c.Port)
}

// Start installs what is missing, initialises the cluster on first use,
// starts it, and creates the riskzone database with PostGIS. It is idempotent
// and safe to call from several processes at once.
func (c *Config) Start(ctx context.Context) error {
	if err := c.EnsureInstalled(ctx); err != nil {
		return err
	}
	bin, err := BinDir()
	if err != nil {
		return err
	}
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := chownPostgres(c.RunDir); err != nil {
		return err
	}
	if !c.initialized() {
		if err := c.initdb(ctx, bin); err != nil {
			return err
		}
	}
	if !c.Running(ctx) {
		if portBusy(c.Port) {
			return fmt.Errorf("port 127.0.0.1:%d is taken by another server: stop it, or set RISKZONE_PG_PORT to a free port", c.Port)
		}
		if err := c.startServer(ctx, bin); err != nil {
			return err
		}
	}
	if err := c.ensureRoles(ctx, bin); err != nil {
		return err
	}
	return c.createDatabase(ctx, bin, DBName)
}

// startServer starts the postmaster of the data folder with pg_ctl and waits
// until it accepts connections (a standby: until it is consistent).
func (c *Config) startServer(ctx context.Context, bin string) error {
	fmt.Fprintf(c.Log, "riskzone: starting PostgreSQL in %s on 127.0.0.1:%d\n", c.DataDir, c.Port)
	logFile := filepath.Join(c.RunDir, "postgres.log")
	opts := fmt.Sprintf("-p %d -k %s", c.Port, c.socketDir())
	if err := run(serverCmd(ctx, filepath.Join(bin, "pg_ctl"), "-D", c.DataDir, "-l", logFile, "-w", "-t", "60", "-o", opts, "start")); err != nil {
		return fmt.Errorf("start PostgreSQL (log: %s): %w", logFile, err)
	}
	return nil
}

// ensureRoles creates the owner role (NOLOGIN) and the app role (LOGIN,
// without a password: the cluster trusts loopback only) that riskzone's
// databases use (docs/operations.md, "Database roles"). Roles belong to the
// cluster, so every database in it (tests' clones too) shares them.
func (c *Config) ensureRoles(ctx context.Context, bin string) error {
	for _, r := range []struct{ name, attrs string }{{postgis.OwnerRole, "NOLOGIN"}, {postgis.AppRole, "LOGIN"}} {
		exists, err := c.psql(ctx, bin, "postgres", fmt.Sprintf("SELECT 1 FROM pg_roles WHERE rolname = '%s'", r.name))
		if err != nil {
			return err
		}
		stmt := fmt.Sprintf("CREATE ROLE %s %s", r.name, r.attrs)
		if exists == "1" {
			stmt = fmt.Sprintf("ALTER ROLE %s %s", r.name, r.attrs)
		}
		if _, err := c.psql(ctx, bin, "postgres", stmt); err != nil {
			return fmt.Errorf("role %s: %w", r.name, err)
		}
	}
	return nil
}

// socketDir is where the Unix socket goes. Socket paths are limited to 107
// bytes, so a deep folder falls back to TCP only (the socket is then in /tmp).
func (c *Config) socketDir() string {
	if len(c.RunDir)+len("/.s.PGSQL.65535") < 100 {
		return c.RunDir
	}
	return "/tmp"
}

func (c *Config) initdb(ctx context.Context, bin string) error {
	if c.Relocated() {
		fmt.Fprintf(c.Log, "riskzone: the postgres user cannot enter %s (a 0700 folder above it); keeping the cluster in %s\n", c.RepoRoot, c.DataDir)
	}
	fmt.Fprintf(c.Log, "riskzone: creating a PostgreSQL cluster in %s\n", c.DataDir)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.DataDir, err)
	}
	if err := chownPostgres(c.DataDir); err != nil {
		return err
	}
	// Trust is limited to loopback and the socket: pg_hba below lists nothing else,
	// and the server listens on 127.0.0.1 only.
	if err := run(serverCmd(ctx, filepath.Join(bin, "initdb"), "-D", c.DataDir, "-U", "postgres",
		"--encoding=UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=trust")); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	conf := strings.Join([]string{
		"",
		"# riskzone managed cluster",
		"listen_addresses = '127.0.0.1'",
		"max_connections = 300",
		"shared_buffers = 256MB",
		"work_mem = 32MB",
		"maintenance_work_mem = 256MB",
		"synchronous_commit = off",
		"max_wal_size = 2GB",
		"timezone = 'UTC'",
		"# standbys (riskzone db standby) stream over loopback; these are the",
		"# PostgreSQL 15 defaults, written out so that they are not lowered by accident",
		"wal_level = replica",
		"max_wal_senders = 10",
		"max_replication_slots = 10",
		"",
	}, "\n")
	f, err := os.OpenFile(filepath.Join(c.DataDir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return nil
}

func (c *Config) psql(ctx context.Context, bin, db, sql string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "-d", db, "-c", sql)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql %q: %w: %s", sql, err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func (c *Config) createDatabase(ctx context.Context, bin, name string) error {
	exists, err := c.psql(ctx, bin, "postgres", fmt.Sprintf("SELECT 1 FROM pg_database WHERE datname = '%s'", name))
	if err != nil {
		return err
	}
	if exists != "1" {
		if _, err := c.psql(ctx, bin, "postgres", fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, postgis.OwnerRole)); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	} else if _, err := c.psql(ctx, bin, "postgres", fmt.Sprintf("ALTER DATABASE %s OWNER TO %s", name, postgis.OwnerRole)); err != nil {
		// A database made by an older release belonged to postgres.
		return fmt.Errorf("hand database %s to %s: %w", name, postgis.OwnerRole, err)
	}
	if _, err := c.psql(ctx, bin, name, "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		return fmt.Errorf("create extension postgis in %s: %w", name, err)
	}
	return nil
}

// Stop shuts the cluster down (fast mode). Stopping a stopped cluster is fine.
func (c *Config) Stop(ctx context.Context) error {
	bin, err := BinDir()
	if err != nil {
		return err
	}
	if !c.initialized() {
		fmt.Fprintf(c.Log, "riskzone: no cluster in %s\n", c.DataDir)
		return nil
	}
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if !c.Running(ctx) {
		fmt.Fprintf(c.Log, "riskzone: PostgreSQL in %s is not running\n", c.DataDir)
		return nil
	}
	if err := run(serverCmd(ctx, filepath.Join(bin, "pg_ctl"), "-D", c.DataDir, "-m", "fast", "-w", "stop")); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w", err)
	}
	fmt.Fprintf(c.Log, "riskzone: stopped PostgreSQL in %s\n", c.DataDir)
	return nil
}

// Status describes the cluster in one line.
func (c *Config) Status(ctx context.Context) string {
	switch {
	case !c.initialized():
		return fmt.Sprintf("not initialised (data folder %s)", c.DataDir)
	case c.Running(ctx):
		return fmt.Sprintf("running on 127.0.0.1:%d, data folder %s, socket %s", c.Port, c.DataDir, c.socketDir())
	default:
		return fmt.Sprintf("stopped, data folder %s", c.DataDir)
	}
}

func portBusy(port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 500*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
