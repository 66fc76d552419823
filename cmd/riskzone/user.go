package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/riskzone/riskzone/server"
	"github.com/riskzone/riskzone/zoning"
)

// userCmd manages accounts and API tokens from the command line. Every write
// is audited with the actor "cli:<operator>"; passwords and tokens are printed
// at most once and never logged.
func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage users and API tokens",
		Long: `Manage users and API tokens.

Roles: admin (users and tokens, and everything else), expert (proposals and
zone editing), publisher (publishing notices), agency (data exports and
restricted layers, usually with an API token). The public needs no account.

Every change is written to the audit log with the actor "cli:<operator>"
(--operator, RISKZONE_OPERATOR or the OS user).`,
	}
	cmd.AddCommand(a.userAddCmd(), a.userListCmd(), a.userPasswdCmd(), a.userTokenCmd(), a.userTokensCmd(), a.userRevokeTokenCmd())
	return cmd
}

// passwordFlags are the ways a command takes a password.
type passwordFlags struct {
	stdin bool
	value string
}

func (pf *passwordFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&pf.stdin, "password-stdin", false, "read the password from the first line of standard input")
	cmd.Flags().StringVar(&pf.value, "password", "", "the password (visible in the process list and shell history: prefer --password-stdin)")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "password")
}

// read returns the password to set and whether it was generated (and so must
// be shown once).
func (pf *passwordFlags) read(stdin io.Reader) (string, bool, error) {
	switch {
	case pf.stdin:
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password from standard input: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", false, errors.New("--password-stdin: standard input held no password")
		}
		return pw, false, zoning.ValidatePassword(pw)
	case pf.value != "":
		return pf.value, false, zoning.ValidatePassword(pf.value)
	default:
		return zoning.GeneratePassword(), true, nil
	}
}

func (a *app) userAddCmd() *cobra.Command {
	var (
		role, display, reason string
		noPassword, ifMissing bool
		pf                    passwordFlags
	)
	cmd := &cobra.Command{
		Use:   "add USERNAME --role ROLE",
		Short: "Create a user",
		Long: `Create a user with a role (admin, expert, publisher or agency).

The password comes from --password-stdin or --password; with neither, a strong
random password is generated and printed once. --no-password creates an
account that cannot sign in and only uses API tokens (typical for agencies).

Usernames are 2-64 characters a-z, 0-9, '.', '_' or '-'.`,
		Example: `  riskzone user add admin --role admin
  printf '%s\n' "$PW" | riskzone user add li.wei --role expert --name "李伟" --password-stdin
  riskzone user add city-gis --role agency --no-password`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := zoning.ParseRole(role)
			if err != nil {
				return err
			}
			nu := zoning.NewUser{Username: zoning.NormalizeUsername(args[0]), DisplayName: display, Role: r}
			if err := nu.Validate(); err != nil {
				return err
			}
			var pw string
			var generated bool
			if !noPassword {
				if pw, generated, err = pf.read(cmd.InOrStdin()); err != nil {
					return err
				}
				if nu.PasswordHash, err = zoning.HashPassword(pw, zoning.DefaultPasswordParams()); err != nil {
					return err
				}
			}
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			if ifMissing {
				if _, err := store.UserByUsername(cmd.Context(), nu.Username); err == nil {
					fmt.Fprintf(a.stdout, "user %s exists; left as it is\n", nu.Username)
					return nil
				} else if !errors.Is(err, zoning.ErrNotFound) {
					return err
				}
			}
			u, err := store.CreateUser(cmd.Context(), a.cliOrigin(reasonOr(reason, "riskzone user add")), nu)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "created user %s (id %d, role %s)\n", u.Username, u.ID, u.Role)
			if generated {
				fmt.Fprintf(a.stdout, "password: %s\n(shown once; change it with \"riskzone user passwd %s\")\n", pw, u.Username)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "role: admin, expert, publisher or agency (required)")
	cmd.Flags().StringVar(&display, "name", "", "display name shown in the web app")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	cmd.Flags().BoolVar(&noPassword, "no-password", false, "create an account without a password (API tokens only)")
	cmd.Flags().BoolVar(&ifMissing, "if-missing", false, "do nothing (and succeed) when the user exists")
	pf.register(cmd)
	cmd.MarkFlagsMutuallyExclusive("no-password", "password")
	cmd.MarkFlagsMutuallyExclusive("no-password", "password-stdin")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func (a *app) userListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			users, err := store.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tUSERNAME\tROLE\tNAME\tSTATUS\tCREATED")
			for _, u := range users {
				status := "active"
				if u.Disabled {
					status = "disabled"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Role, u.DisplayName, status, u.CreatedAt.UTC().Format(time.RFC3339))
			}
			return w.Flush()
		},
	}
}

func (a *app) userPasswdCmd() *cobra.Command {
	var (
		reason string
		pf     passwordFlags
	)
	cmd := &cobra.Command{
		Use:   "passwd USERNAME",
		Short: "Set a user's password (and end the user's sessions)",
		Long: `Set a user's password from --password-stdin or --password, or generate one
and print it once. The user's open sessions end.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := pf.read(cmd.InOrStdin())
			if err != nil {
				return err
			}
			hash, err := zoning.HashPassword(pw, zoning.DefaultPasswordParams())
			if err != nil {
				return err
			}
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			u, err := store.UserByUsername(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := store.SetPassword(cmd.Context(), a.cliOrigin(reasonOr(reason, "riskzone user passwd")), u.ID, hash); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "password of %s changed\n", u.Username)
			if generated {
				fmt.Fprintf(a.stdout, "password: %s\n(shown once)\n", pw)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	pf.register(cmd)
	return cmd
}

func (a *app) userTokenCmd() *cobra.Command {
	var name, expires, reason string
	cmd := &cobra.Command{
		Use:   "token USERNAME --name NAME",
		Short: "Create an API token for a user and print it once",
		Long: `Create an API token for a user. The token ("rz_…") is printed once: only its
SHA-256 is stored, so it cannot be shown again. Clients send it as
"Authorization: Bearer rz_…".

--expires is a duration such as 720h (the default, 30 days); 0 makes a token
that never expires.`,
		Example: `  riskzone user token city-gis --name "municipal GIS sync" --expires 2160h`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ttl, err := server.ParseTokenTTL(expires)
			if err != nil {
				return fmt.Errorf("--expires: %s", zoning.Message(err))
			}
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			u, err := store.UserByUsername(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var exp *time.Time
			if ttl > 0 {
				t := time.Now().Add(ttl).UTC().Truncate(time.Second)
				exp = &t
			}
			clear, prefix, err := zoning.NewAPIToken()
			if err != nil {
				return fmt.Errorf("new token: %w", err)
			}
			tok, err := store.CreateAPIToken(cmd.Context(), a.cliOrigin(reasonOr(reason, "riskzone user token")), u.ID, strings.TrimSpace(name), prefix, zoning.HashSecret(clear), exp)
			if err != nil {
				return err
			}
			until := "never expires"
			if tok.ExpiresAt != nil {
				until = "expires " + tok.ExpiresAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(a.stderr, "token %d %q for %s (%s); shown once, store it now:\n", tok.ID, tok.Name, u.Username, until)
			fmt.Fprintln(a.stdout, clear)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "what or who the token is for (required)")
	cmd.Flags().StringVar(&expires, "expires", "720h", "lifetime, e.g. 720h; 0 for no expiry")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func (a *app) userTokensCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "tokens [USERNAME]",
		Short: "List API tokens (of one user, or all)",
		Long:  "List API tokens by id, prefix and state; the tokens themselves are not stored and cannot be shown.",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			var userID int64
			if len(args) == 1 {
				u, err := store.UserByUsername(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				userID = u.ID
			}
			tokens, err := store.ListAPITokens(cmd.Context(), userID)
			if err != nil {
				return err
			}
			printTokens(a.stdout, tokens)
			return nil
		},
	}
}

func printTokens(out io.Writer, tokens []zoning.APIToken) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSER\tNAME\tPREFIX\tSTATE\tEXPIRES\tLAST USED")
	now := time.Now()
	stamp := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, t := range tokens {
		state := "active"
		switch {
		case t.RevokedAt != nil:
			state = "revoked"
		case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
			state = "expired"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Username, t.Name, t.Prefix, state,
			stamp(t.ExpiresAt, "never"), stamp(t.LastUsedAt, "-"))
	}
	_ = w.Flush()
}

func (a *app) userRevokeTokenCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke-token ID",
		Short: "Revoke an API token by id (see \"riskzone user tokens\")",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("token id %q: want a positive integer", args[0])
			}
			store, err := a.open(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer store.Close()
			tok, err := store.RevokeAPIToken(cmd.Context(), a.cliOrigin(reasonOr(reason, "riskzone user revoke-token")), id)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "token %d (%s…, %s) revoked at %s\n", tok.ID, tok.Prefix, tok.Username, tok.RevokedAt.UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log")
	return cmd
}

func reasonOr(reason, def string) string {
	if strings.TrimSpace(reason) != "" {
		return reason
	}
	return def
}
