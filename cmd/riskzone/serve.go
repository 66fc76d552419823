package main

import (
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/server"
)

func (a *app) serveCmd() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Migrate the database and serve the web app and APIs",
		Long: `Migrate the database and serve the web app, the public pages and the APIs.
Shuts down gracefully on SIGTERM or Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, err := a.open(ctx, true)
			if err != nil {
				return err
			}
			defer store.Close()
			if cfg.Tiles.PublicURL == "" {
				cfg.Tiles.PublicURL = cfg.Public.BaseURL
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
	f.BoolVar(&cfg.SecureCookies, "secure-cookies", os.Getenv("RISKZONE_SECURE_COOKIES") == "1", "mark cookies Secure (behind TLS; env RISKZONE_SECURE_COOKIES=1)")
	f.StringSliceVar(&cfg.Public.FrameAncestors, "frame-ancestors", splitEnv("RISKZONE_FRAME_ANCESTORS"), "origins allowed to embed /embed in an iframe (CSP frame-ancestors; default *; env RISKZONE_FRAME_ANCESTORS, comma-separated)")
	f.StringVar(&cfg.Public.BaseURL, "public-url", os.Getenv("RISKZONE_PUBLIC_URL"), "public address of the service, e.g. https://zones.example.gov.cn (CAP, Atom, webhooks; env RISKZONE_PUBLIC_URL)")
	f.StringVar(&cfg.Public.CAPSender, "cap-sender", os.Getenv("RISKZONE_CAP_SENDER"), "CAP <sender> of published notices (env RISKZONE_CAP_SENDER)")
	f.DurationVar(&cfg.Public.Webhooks.BaseDelay, "webhook-base-delay", 0, "wait after the first failed webhook delivery, doubled each retry (default 30s)")
	f.DurationVar(&cfg.Public.Webhooks.MaxDelay, "webhook-max-delay", 0, "longest wait between webhook retries (default 1h)")
	f.IntVar(&cfg.Public.Webhooks.MaxAttempts, "webhook-max-attempts", 0, "attempts before a webhook delivery is given up (dead)")
	return cmd
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
