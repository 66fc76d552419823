package main

import (
	"fmt"
	"net"
	"os"
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
	_ = fmt.Sprint
	return cmd
}
