package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/zoning/postgis/localpg"
)

// standbyCmd is `riskzone db standby`: hot standbys of the managed cluster on
// PostgreSQL's own streaming replication (docs/operations.md, "Standbys").
func (a *app) standbyCmd() *cobra.Command {
	sb := &cobra.Command{
		Use:   "standby",
		Short: "Create, check, stop, remove and promote hot standbys of the local cluster",
		Long: `Hot standbys of the local cluster on PostgreSQL's own streaming replication:
pg_basebackup -R over loopback into a data folder beside the primary's
(standby-NAME), streaming from a replication slot of its own. They accept
read-only connections; promote one to make it a primary of its own.
With DATABASE_URL set, use your provider's read replicas instead.`,
	}
	// managed runs f on the local cluster, refusing when DATABASE_URL points
	// elsewhere: a standby of the local cluster would not replicate that one.
	managed := func(f func(ctx context.Context, c *localpg.Config, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			if a.databaseURL != "" {
				return errors.New("DATABASE_URL is set: standbys are made of the local cluster only; use your PostgreSQL service's read replicas")
			}
			c, err := a.cluster()
			if err != nil {
				return err
			}
			return f(cmd.Context(), c, args)
		}
	}
	var port int
	var name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Copy the running local cluster into a new hot standby and start it; prints its URL",
		Args:  cobra.NoArgs,
		RunE: managed(func(ctx context.Context, c *localpg.Config, _ []string) error {
			if name == "" {
				var err error
				if name, err = nextStandbyName(c); err != nil {
					return err
				}
			}
			if err := localpg.ValidStandbyName(name); err != nil {
				return err
			}
			if err := c.Start(ctx); err != nil {
				return err
			}
			s, err := c.CreateStandby(ctx, name, port)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "standby %s: %s, replaying 127.0.0.1:%d\n%s\n", s.Name, s.Status(ctx), c.Port, s.AppURL())
			return nil
		}),
	}
	create.Flags().IntVar(&port, "port", 0, "TCP port on 127.0.0.1 (default: the first free one above the primary's)")
	create.Flags().StringVar(&name, "name", "", "standby name: a-z, 0-9, _ (default: the next free number)")

	status := &cobra.Command{
		Use:   "status",
		Short: "List the standbys with their state and replay lag",
		Args:  cobra.NoArgs,
		RunE: managed(func(ctx context.Context, c *localpg.Config, _ []string) error {
			states, err := c.StandbyStates(ctx)
			if err != nil {
				return err
			}
			if len(states) == 0 {
				fmt.Fprintln(a.stdout, "no standbys (riskzone db standby create)")
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tPORT\tSTATE\tSTREAMING\tREPLAY LSN\tLAG BYTES\tREPLAY LAG\tDATA FOLDER")
			for _, s := range states {
				lag := "-"
				if s.LagBytes >= 0 {
					lag = strconv.FormatInt(s.LagBytes, 10)
				}
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Port, s.State, dash(s.Streaming), dash(s.ReplayLSN), lag, dash(s.ReplayLag), s.DataDir)
			}
			return w.Flush()
		}),
	}
	named := func(use, short string, f func(ctx context.Context, c *localpg.Config, name string) error) *cobra.Command {
		return &cobra.Command{
			Use:   use + " NAME",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: managed(func(ctx context.Context, c *localpg.Config, args []string) error {
				return f(ctx, c, args[0])
			}),
		}
	}
	sb.AddCommand(create, status,
		named("start", "Start a stopped standby (it catches up from its slot)", func(ctx context.Context, c *localpg.Config, name string) error {
			s, err := c.StartStandby(ctx, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "standby %s: %s\n%s\n", s.Name, s.Status(ctx), s.AppURL())
			return nil
		}),
		named("stop", "Stop a standby (its slot keeps the WAL it needs)", func(ctx context.Context, c *localpg.Config, name string) error {
			return c.StopStandby(ctx, name)
		}),
		named("remove", "Stop a standby, drop its slot and delete its data folder", func(ctx context.Context, c *localpg.Config, name string) error {
			if err := c.RemoveStandby(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed standby %s\n", name)
			return nil
		}),
		named("promote", "Make a standby a writable primary (pg_ctl promote); prints the DATABASE_URL to use", func(ctx context.Context, c *localpg.Config, name string) error {
			s, err := c.PromoteStandby(ctx, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "promoted standby %s: it takes writes now; point the service at it:\nDATABASE_URL=%s\nRISKZONE_MIGRATE_DATABASE_URL=%s\n", s.Name, s.AppURL(), s.URL())
			return nil
		}),
	)
	return sb
}

// nextStandbyName is the lowest number not yet used as a standby name.
func nextStandbyName(c *localpg.Config) (string, error) {
	all, err := c.Standbys()
	if err != nil {
		return "", err
	}
	used := map[string]bool{}
	for _, s := range all {
		used[s.Name] = true
	}
	for i := 1; ; i++ {
		if n := strconv.Itoa(i); !used[n] {
			return n, nil
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
