package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/riskzone/riskzone/server"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// devClusterWarning is what serve says at start on the managed cluster: it
// runs as the postgres superuser on loopback, with the data under the
// repository, and may hold the demo logins whose password is published.
const devClusterWarning = "serving from the managed development cluster (no DATABASE_URL): for development only, never for a deployment; set DATABASE_URL to a PostgreSQL you run"

func (a *app) serveCmd() *cobra.Command {
	var cfg server.Config
	var limitFlags limitFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Migrate the database and serve the web app and APIs",
		Long: `Migrate the database (on the managed cluster, or with --migrate-database-url)
and serve the web app, the public pages and the APIs, connected as the app role
riskzone_app (DATABASE_URL, or the managed cluster's riskzone_app). Given
DATABASE_URL alone, the schema must be current (riskzone migrate).
Shuts down gracefully on SIGTERM or Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := limitFlags.apply(&cfg); err != nil {
				return err
			}
			if err := checkStreamFlags(cfg.Streams); err != nil {
				return err
			}
			cfg.Outbound.InsecureHTTP = cfg.InsecureDev
			if err := server.CheckConfig(cfg); err != nil {
				return err
			}
			store, err := a.open(ctx, false)
			if err != nil {
				return err
			}
			defer store.Close()
			if a.databaseURL == "" {
				a.log.Warn(devClusterWarning)
			}
			if role, rewrite, err := store.ServingRole(ctx); err != nil {
				return err
			} else if rewrite {
				a.log.Warn("the serving role may rewrite the audit log and published notices: connect as "+postgis.AppRole+" (docs/operations.md, Database roles)", "role", role)
			}
			srv := server.New(cfg, store, a.log)
			return srv.ListenAndServe(ctx, func(addr net.Addr) {
				a.log.Info("listening", "addr", addr.String(), "url", "http://"+addr.String()+"/")
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", envOr("RISKZONE_ADDR", "127.0.0.1:8080"), "listen address (env RISKZONE_ADDR)")
	f.StringVar(&cfg.BodyLimit, "body-limit", envOr("RISKZONE_BODY_LIMIT", "10M"), "largest request body (env RISKZONE_BODY_LIMIT)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to wait for requests at shutdown")
	f.DurationVar(&cfg.SessionTTL, "session-ttl", 12*time.Hour, "login session lifetime")
	f.BoolVar(&cfg.InsecureDev, "insecure-dev", os.Getenv("RISKZONE_INSECURE_DEV") == "1", "local development over plain http: cookies without Secure, no HSTS, links from the request's host when --public-url is not set, outbound http allowed (env RISKZONE_INSECURE_DEV=1; never in production)")
	// --secure-cookies was the opt-in before Secure became the default; it
	// stays accepted so that existing deployments keep starting.
	f.Bool("secure-cookies", true, "cookies are Secure unless --insecure-dev")
	_ = f.MarkDeprecated("secure-cookies", "cookies are Secure by default; --insecure-dev turns that off")
	f.StringSliceVar(&cfg.Outbound.Allow, "outbound-allow", splitEnv("RISKZONE_OUTBOUND_ALLOW"), "host:port, addresses or CIDRs webhooks and the base style may reach although loopback, private or link-local (plain http allowed to them too), e.g. 127.0.0.1:8443,10.0.0.0/8 (env RISKZONE_OUTBOUND_ALLOW, comma-separated)")
	f.StringSliceVar(&cfg.Public.FrameAncestors, "frame-ancestors", splitEnv("RISKZONE_FRAME_ANCESTORS"), "origins allowed to embed /embed in an iframe (CSP frame-ancestors; default *; env RISKZONE_FRAME_ANCESTORS, comma-separated)")
	f.StringVar(&cfg.Public.BaseURL, "public-url", os.Getenv("RISKZONE_PUBLIC_URL"), "public address of the service, e.g. https://zones.example.gov.cn: the base of every published link (CAP, Atom, TileJSON, OGC, webhooks); required unless --insecure-dev (env RISKZONE_PUBLIC_URL)")
	f.StringVar(&cfg.Public.CAPSender, "cap-sender", os.Getenv("RISKZONE_CAP_SENDER"), "CAP <sender> of published notices (env RISKZONE_CAP_SENDER)")
	f.DurationVar(&cfg.Public.Webhooks.BaseDelay, "webhook-base-delay", 0, "wait after the first failed webhook delivery, doubled each retry (default 30s)")
	f.DurationVar(&cfg.Public.Webhooks.MaxDelay, "webhook-max-delay", 0, "longest wait between webhook retries (default 1h)")
	f.IntVar(&cfg.Public.Webhooks.MaxAttempts, "webhook-max-attempts", 0, "attempts before a webhook delivery is given up (dead)")
	f.DurationVar(&cfg.Public.Webhooks.Lease, "webhook-lease", 0, "how long a claimed webhook delivery is held before another replica may retry it (default 2m)")
	f.DurationVar(&cfg.Public.Webhooks.Timeout, "webhook-timeout", 0, "time one webhook attempt may take (default 10s)")
	f.DurationVar(&cfg.Public.Webhooks.Poll, "webhook-poll", 0, "longest wait between looks at the webhook outbox (default 5s)")
	f.BoolVar(&cfg.Public.Webhooks.Disabled, "no-webhooks", false, "do not deliver webhooks from this replica")
	f.StringVar(&cfg.Alerts.URL, "alert-webhook-url", os.Getenv("RISKZONE_ALERT_WEBHOOK_URL"), "the command centre's webhook for overdue closed-loop steps of contacts (env RISKZONE_ALERT_WEBHOOK_URL; empty: alerts show in the app only)")
	f.StringVar(&cfg.Alerts.Secret, "alert-webhook-secret", os.Getenv("RISKZONE_ALERT_WEBHOOK_SECRET"), "HMAC secret signing the alert deliveries, at least 16 bytes (env RISKZONE_ALERT_WEBHOOK_SECRET)")
	f.DurationVar(&cfg.Alerts.Poll, "alert-poll", time.Minute, "wait between looks for overdue closed-loop steps")
	f.BoolVar(&cfg.Alerts.Disabled, "no-alerts", false, "do not raise or deliver closed-loop alerts from this replica")
	// Limits and timeouts (docs/operations.md, "Limits").
	f.Float64Var(&limitFlags.publicRate, "rate-limit", envFloat("RISKZONE_RATE_LIMIT", 50), "requests per second one client address may make, sustained; 0 turns the limit off (env RISKZONE_RATE_LIMIT)")
	f.IntVar(&limitFlags.publicBurst, "rate-burst", 200, "requests one client address may make at once")
	f.Float64Var(&limitFlags.loginPerMinute, "login-rate-limit", 10, "sign-in attempts per minute one client address may make; 0 turns the limit off")
	f.IntVar(&limitFlags.accountFailures, "login-account-failures", 5, "failed sign-ins one username may have (from any address) before it is locked out with a doubling wait; 0 turns the per-account throttle off")
	f.DurationVar(&cfg.Limits.AccountMaxDelay, "login-max-lockout", 15*time.Minute, "longest per-username lockout after repeated failed sign-ins")
	f.IntVar(&cfg.Limits.HashConcurrency, "password-hash-concurrency", 0, "argon2id password checks computed at once (default GOMAXPROCS); a sign-in finding none free within 1 s answers 503")
	f.BoolVar(&cfg.Limits.ExemptLoopback, "limit-exempt-loopback", os.Getenv("RISKZONE_LIMIT_EXEMPT_LOOPBACK") == "1", "exempt clients on loopback from the per-address rate limits, e.g. for a local benchmark (env RISKZONE_LIMIT_EXEMPT_LOOPBACK=1); a proxy on the same machine belongs in --trusted-proxies")
	f.StringSliceVar(&cfg.Limits.TrustedProxies, "trusted-proxies", splitEnv("RISKZONE_TRUSTED_PROXIES"), "CIDRs of load balancers/CDNs whose X-Forwarded-For names the client (env RISKZONE_TRUSTED_PROXIES, comma-separated)")
	streamFlags(f, &cfg.Streams)
	f.DurationVar(&cfg.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "time to read a request's headers")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", 2*time.Minute, "time to read a whole request")
	f.DurationVar(&cfg.WriteTimeout, "write-timeout", 10*time.Minute, "time to write a whole answer")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	f.StringVar(&cfg.Tiles.BaseStyleURL, "base-style-url", os.Getenv("RISKZONE_BASE_STYLE_URL"), "an external MapLibre style (https URL) drawn under the zones instead of the service's own base map; its origins are allowed in the pages' CSP (env RISKZONE_BASE_STYLE_URL; docs/tiles.md)")
	f.Int64Var(&limitFlags.tileCacheMB, "tile-cache-mb", 256, "memory for rendered tiles, MiB")
	f.DurationVar(&cfg.LiftingCheckInterval, "lifting-check-interval", time.Hour, "period of the scheduled lifting-eligibility check (run once per period across replicas); negative: never")
	f.DurationVar(&cfg.DBCheckInterval, "db-check-interval", time.Second, "how often the database is pinged to enter and leave degraded mode")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", os.Getenv("RISKZONE_METRICS_ADDR"), "serve /metrics without authentication on this separate, private address, e.g. 10.0.0.5:9100 (env RISKZONE_METRICS_ADDR); /metrics on --addr needs an admin token")
	f.StringVar(&cfg.FastAddr, "fast-addr", os.Getenv("RISKZONE_FAST_ADDR"), "also serve the public hot paths (the lookup /api/v1/public/lookup and warm public tiles /tiles/) on this address with a lighter HTTP stack (fasthttp), for a load balancer to route them there, e.g. 127.0.0.1:8082 (env RISKZONE_FAST_ADDR; docs/operations.md)")
	return cmd
}

// limitFlags are flags whose zero means "off" rather than "default".
type limitFlags struct {
	publicRate, loginPerMinute float64
	publicBurst                int
	accountFailures            int
	tileCacheMB                int64
}

func (l limitFlags) apply(cfg *server.Config) error {
	if l.publicRate < 0 || l.loginPerMinute < 0 || l.accountFailures < 0 || l.publicBurst < 1 || l.tileCacheMB < 1 {
		return fmt.Errorf("--rate-limit, --login-rate-limit and --login-account-failures must be 0 or more, --rate-burst and --tile-cache-mb 1 or more")
	}
	if cfg.Limits.HashConcurrency < 0 || cfg.Limits.AccountMaxDelay < 0 {
		return fmt.Errorf("--password-hash-concurrency and --login-max-lockout must be 0 or more")
	}
	cfg.Limits.AccountFailures = l.accountFailures
	if l.accountFailures == 0 {
		cfg.Limits.AccountFailures = -1
	}
	cfg.Limits.PublicRate, cfg.Limits.PublicBurst = l.publicRate, l.publicBurst
	if l.publicRate == 0 {
		cfg.Limits.PublicRate = -1
	}
	cfg.Limits.LoginRate = l.loginPerMinute / 60
	if l.loginPerMinute == 0 {
		cfg.Limits.LoginRate = -1
	}
	cfg.Tiles.CacheBytes = l.tileCacheMB << 20
	return nil
}

// streamFlags are the bounds of the anonymous public streams (exports, OGC
// items; docs/operations.md, "Public streams").
func streamFlags(f *pflag.FlagSet, c *server.StreamConfig) {
	f.IntVar(&c.PoolSize, "public-pool-size", envInt("RISKZONE_PUBLIC_POOL_SIZE", 8), "database connections of the pool, apart from the main one, that anonymous exports and OGC items read (env RISKZONE_PUBLIC_POOL_SIZE)")
	f.DurationVar(&c.StatementTimeout, "public-statement-timeout", envDuration("RISKZONE_PUBLIC_STATEMENT_TIMEOUT", 30*time.Second), "statement_timeout of the public pool: a longer anonymous query answers 503, a longer download is cut (env RISKZONE_PUBLIC_STATEMENT_TIMEOUT)")
	f.IntVar(&c.Exports, "public-exports", envInt("RISKZONE_PUBLIC_EXPORTS", 4), "anonymous exports running at once across all clients; over it 429 (env RISKZONE_PUBLIC_EXPORTS)")
	f.IntVar(&c.Items, "public-items", envInt("RISKZONE_PUBLIC_ITEMS", 4), "anonymous OGC API items requests running at once across all clients; over it 429 (env RISKZONE_PUBLIC_ITEMS)")
	f.IntVar(&c.PerAddress, "public-streams-per-address", envInt("RISKZONE_PUBLIC_STREAMS_PER_ADDRESS", 2), "anonymous exports and items one client address may run at once; over it 429 (env RISKZONE_PUBLIC_STREAMS_PER_ADDRESS)")
}

// checkStreamFlags refuses bounds that would mean "no bound".
func checkStreamFlags(c server.StreamConfig) error {
	if c.PoolSize < 1 || c.Exports < 1 || c.Items < 1 || c.PerAddress < 1 || c.StatementTimeout < time.Millisecond {
		return fmt.Errorf("--public-pool-size, --public-exports, --public-items and --public-streams-per-address must be 1 or more, --public-statement-timeout at least 1ms")
	}
	return nil
}

// envInt reads an integer from the environment, or def.
func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

// envDuration reads a duration (e.g. 30s) from the environment, or def.
func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

// envFloat reads a number from the environment, or def.
func envFloat(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
}

// splitEnv reads a comma-separated list from the environment.
func splitEnv(key string) []string {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
