// Command riskzone is the whole riskzone service in one binary: the server,
// the managed database, migrations, imports, the demo city and user admin.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/zoning/postgis"
	"github.com/riskzone/riskzone/zoning/postgis/localpg"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

// app is the configuration shared by the subcommands, built once from flags
// and the environment.
type app struct {
	databaseURL string // from --database-url or DATABASE_URL; empty means the managed cluster
	// migrateURL is the migration login (--migrate-database-url or
	// RISKZONE_MIGRATE_DATABASE_URL): a member of riskzone_owner, or a superuser.
	migrateURL string
	logLevel   string
	logFormat  string
	// operator is who runs the command, audited as the actor "cli:<operator>".
	operator string
	stdout   io.Writer
	stderr   io.Writer
	log      *slog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr}
	if err := a.rootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "riskzone: %v\n", err)
		os.Exit(1)
	}
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "riskzone",
		Short: "Risk-zone mapping for epidemic control",
		Long: `riskzone turns case reports into proposed high-risk zones that follow natural
barriers, lets an expert panel review and edit them, publishes them to the
public and hands them to other agencies.

Without DATABASE_URL every command uses the project's own PostGIS cluster in
.data/postgres (started by "riskzone db start"; "riskzone db status" says where).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOperator(a.operator); err != nil {
				return err
			}
			return a.setupLogging()
		},
	}
	root.PersistentFlags().StringVar(&a.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (env DATABASE_URL); empty: the managed local cluster")
	root.PersistentFlags().StringVar(&a.migrateURL, "migrate-database-url", os.Getenv("RISKZONE_MIGRATE_DATABASE_URL"),
		"PostgreSQL URL of the migration login, a member of riskzone_owner (env RISKZONE_MIGRATE_DATABASE_URL); with DATABASE_URL, only migrate uses DATABASE_URL when it is empty (docs/operations.md \"Database roles\")")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", envOr("RISKZONE_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env RISKZONE_LOG_LEVEL)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", envOr("RISKZONE_LOG_FORMAT", "text"), "log format: text or json (env RISKZONE_LOG_FORMAT)")
	root.PersistentFlags().StringVar(&a.operator, "operator", defaultOperator(),
		"who runs the command, audited as the actor cli:NAME of every write (env RISKZONE_OPERATOR; default the OS user)")
	root.AddCommand(a.serveCmd(), a.migrateCmd(), a.dbCmd(), a.demoCmd(), a.userCmd(), a.importCmd(), a.proposeCmd(), a.countyCmd(), a.versionCmd())
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (a *app) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return fmt.Errorf("--log-format %q: want text or json", a.logFormat)
	}
	return nil
}

// cluster describes the managed local cluster of the repository the binary is
// run from.
func (a *app) cluster() (*localpg.Config, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	root, err := localpg.FindRepoRoot(wd)
	if err != nil {
		return nil, err
	}
	return localpg.New(root, a.stderr)
}

// dsn resolves the database the service uses, as the app role riskzone_app:
// DATABASE_URL as given, or the managed cluster (started if it is not
// running) as riskzone_app.
func (a *app) dsn(ctx context.Context) (string, error) {
	if a.databaseURL != "" {
		return a.databaseURL, nil
	}
	c, err := a.cluster()
	if err != nil {
		return "", err
	}
	if err := c.Start(ctx); err != nil {
		return "", err
	}
	return c.AppURL(), nil
}

// migrationDSN is the URL migrations connect with: --migrate-database-url;
// else the managed cluster's superuser when DATABASE_URL is not set; else
// DATABASE_URL when explicit is set (the migrate command of a deployment
// whose one login is a member of riskzone_owner); else "" (a server given
// only DATABASE_URL does not migrate: its role may not).
func (a *app) migrationDSN(ctx context.Context, explicit bool) (string, error) {
	switch {
	case a.migrateURL != "":
		return a.migrateURL, nil
	case a.databaseURL == "":
		c, err := a.cluster()
		if err != nil {
			return "", err
		}
		if err := c.Start(ctx); err != nil {
			return "", err
		}
		return c.URL(), nil
	case explicit:
		return a.databaseURL, nil
	}
	return "", nil
}

// open connects to the database as the app role, migrating it first when a
// migration login is known (the managed cluster, --migrate-database-url);
// given DATABASE_URL alone, the schema must already be current. With owner
// set, it connects as the owner role instead when a migration login is
// known: for the tools that replace data wholesale (demo --replace, bulk
// imports drop and rebuild indexes). An unreachable server fails within
// connectTimeout, naming the URL with its password masked.
func (a *app) open(ctx context.Context, owner bool) (*postgis.Store, error) {
	mdsn, err := a.migrationDSN(ctx, false)
	if err != nil {
		return nil, err
	}
	dsn, err := a.dsn(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if mdsn != "" {
		from, to, err := postgis.Migrate(cctx, mdsn)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", postgis.MaskURL(mdsn), timeoutHint(err))
		}
		if from != to {
			a.log.Info("migrated database", "from", from, "to", to)
		}
		if owner {
			dsn = postgis.AsRole(mdsn, postgis.OwnerRole)
		}
	}
	s, err := postgis.Open(cctx, dsn)
	if err != nil {
		return nil, timeoutHint(err)
	}
	if mdsn == "" {
		if err := s.Ready(cctx); errors.Is(err, postgis.ErrSchemaBehind) {
			s.Close()
			return nil, fmt.Errorf("database %s: %w; run riskzone migrate with --migrate-database-url (docs/operations.md \"Database roles\")", postgis.MaskURL(dsn), err)
		}
	}
	return s, nil
}

const connectTimeout = 5 * time.Second

func timeoutHint(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (no answer within %s)", err, connectTimeout)
	}
	return err
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and schema version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			latest, err := postgis.LatestMigration()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "riskzone %s (schema %d)\n", Version, latest)
			return nil
		},
	}
}

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the embedded schema migrations",
		Long: `Apply the embedded schema migrations as the owner role riskzone_owner, with
--migrate-database-url, else DATABASE_URL, else the managed cluster's superuser
(which also creates the roles). Safe to run from several processes at once (an
advisory lock serialises them); a current schema is left as it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dsn, err := a.migrationDSN(cmd.Context(), true)
			if err != nil {
				return err
			}
			from, to, err := postgis.Migrate(cmd.Context(), dsn)
			if err != nil {
				return fmt.Errorf("database %s: %w", postgis.MaskURL(dsn), err)
			}
			if from == to {
				fmt.Fprintf(a.stdout, "schema is current (version %d)\n", to)
			} else {
				fmt.Fprintf(a.stdout, "migrated schema from version %d to %d\n", from, to)
			}
			return nil
		},
	}
}

func (a *app) dbCmd() *cobra.Command {
	db := &cobra.Command{
		Use:   "db",
		Short: "Manage the local PostGIS cluster (ignored when DATABASE_URL is set)",
	}
	managed := func(run func(ctx context.Context, c *localpg.Config) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			c, err := a.cluster()
			if err != nil {
				return err
			}
			return run(cmd.Context(), c)
		}
	}
	var migrations bool
	db.AddCommand(&cobra.Command{
		Use:   "start",
		Short: "Install PostGIS if missing (as root), initialise and start the local cluster",
		Args:  cobra.NoArgs,
		RunE: managed(func(ctx context.Context, c *localpg.Config) error {
			if a.databaseURL != "" {
				fmt.Fprintln(a.stdout, "DATABASE_URL is set: the local cluster is not used")
				return nil
			}
			if err := c.Start(ctx); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "PostGIS %s\n%s\n", c.Status(ctx), c.AppURL())
			return nil
		}),
	}, &cobra.Command{
		Use:   "stop",
		Short: "Stop the local cluster",
		Args:  cobra.NoArgs,
		RunE:  managed(func(ctx context.Context, c *localpg.Config) error { return c.Stop(ctx) }),
	}, &cobra.Command{
		Use:   "status",
		Short: "Say whether the local cluster runs, and where its data folder is",
		Args:  cobra.NoArgs,
		RunE: managed(func(ctx context.Context, c *localpg.Config) error {
			if a.databaseURL != "" {
				fmt.Fprintf(a.stdout, "DATABASE_URL is set (%s): the local cluster is not used\n", postgis.MaskURL(a.databaseURL))
			}
			fmt.Fprintf(a.stdout, "local cluster: %s\n", c.Status(ctx))
			return nil
		}),
	}, &cobra.Command{
		Use:   "url",
		Short: "Print the database URL the service uses (as riskzone_app); --migrations: the migration login's",
		Args:  cobra.NoArgs,
		RunE: managed(func(ctx context.Context, c *localpg.Config) error {
			switch {
			case migrations && a.migrateURL != "":
				fmt.Fprintln(a.stdout, a.migrateURL)
			case migrations && a.databaseURL != "":
				fmt.Fprintln(a.stdout, a.databaseURL)
			case migrations:
				fmt.Fprintln(a.stdout, c.URL())
			case a.databaseURL != "":
				fmt.Fprintln(a.stdout, a.databaseURL)
			default:
				fmt.Fprintln(a.stdout, c.AppURL())
			}
			return nil
		}),
	})
	db.AddCommand(a.standbyCmd())
	for _, c := range db.Commands() {
		if c.Name() == "url" {
			c.Flags().BoolVar(&migrations, "migrations", false, "print the migration login's URL instead")
		}
	}
	return db
}
