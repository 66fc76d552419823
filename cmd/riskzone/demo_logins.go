package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/zoning"
	"github.com/riskzone/riskzone/zoning/postgis"
)

// DemoPassword is the published password of the demo logins. Anyone who
// reads the README knows it, so the logins exist only in the managed
// development cluster (see demoLoginsCmd).
const DemoPassword = "riskzone-demo"

// demoLogins are the accounts `make run` signs in with: two of each role
// the second-person rule separates, so that one can confirm the other.
var demoLogins = []struct {
	name string
	role zoning.Role
}{
	{"admin", zoning.RoleAdmin},
	{"expert", zoning.RoleExpert}, {"expert2", zoning.RoleExpert},
	{"publisher", zoning.RolePublisher}, {"publisher2", zoning.RolePublisher},
}

func (a *app) demoLoginsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logins",
		Short: "Create the demo logins (password " + DemoPassword + ") in the managed development cluster",
		Long: `Create the demo logins admin, expert, expert2, publisher and publisher2, all
with the published password "` + DemoPassword + `", when they are missing.

They exist for "make run" on a developer's machine. The command refuses a
database given by DATABASE_URL or --database-url: a login whose password is in
the README must never reach a real deployment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.databaseURL != "" {
				return fmt.Errorf("demo logins: refused for %s: logins with the published password %q are created only in the managed development cluster (unset DATABASE_URL); create real accounts with \"riskzone user add\"",
					postgis.MaskURL(a.databaseURL), DemoPassword)
			}
			store, err := a.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer store.Close()
			return createDemoLogins(cmd.Context(), store, a.cliOrigin("riskzone demo logins"), a.stdout)
		},
	}
}

// createDemoLogins creates the demo logins that are missing and leaves the
// others as they are.
func createDemoLogins(ctx context.Context, store *postgis.Store, o zoning.Origin, out io.Writer) error {
	hash, err := zoning.HashPassword(DemoPassword, zoning.DefaultPasswordParams())
	if err != nil {
		return err
	}
	for _, l := range demoLogins {
		_, err := store.UserByUsername(ctx, l.name)
		switch {
		case err == nil:
			continue
		case !errors.Is(err, zoning.ErrNotFound):
			return fmt.Errorf("demo login %s: %w", l.name, err)
		}
		nu := zoning.NewUser{Username: l.name, DisplayName: "Demo " + l.name, Role: l.role, PasswordHash: hash}
		if _, err := store.CreateUser(ctx, o, nu); err != nil {
			return fmt.Errorf("demo login %s: %w", l.name, err)
		}
		fmt.Fprintf(out, "created demo login %s (%s)\n", l.name, l.role)
	}
	return nil
}
