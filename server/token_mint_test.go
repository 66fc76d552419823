package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// The second-person rule cannot be bypassed with tokens: an admin mints
// tokens for themselves and for agencies, never for another admin, expert
// or publisher (403, audited, no token row); a token minted for another
// account before the rule, or by a role change, is not honoured.
func TestAdminCannotMintTokensForOthers(t *testing.T) {
	e := newTestEnv(t, Config{}, withRoleRoutes)
	root := e.addUser("root", zoning.RoleAdmin, "root-password-123")
	e.addUser("boss2", zoning.RoleAdmin, "")
	e.addUser("epi", zoning.RoleExpert, "")
	e.addUser("pub", zoning.RolePublisher, "")
	e.addUser("city-gis", zoning.RoleAgency, "")
	s := e.login("root", "root-password-123")
	create := func(user string) response {
		return e.do(request{method: "POST", path: "/api/v1/admin/tokens", cookie: s.cookie, csrf: s.csrf,
			json: map[string]any{"username": user, "name": "feed"}})
	}
	ctx := context.Background()
	count := func(q string, args ...any) int {
		var n int
		if err := e.store.Pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, user := range []string{"epi", "pub", "boss2"} {
		create(user).expectError(t, http.StatusForbidden, "act as two", "an admin mints a token for "+user)
	}
	if n := count(`SELECT count(*) FROM api_tokens`); n != 0 {
		t.Fatalf("refused mints left %d tokens", n)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'token.create' AND outcome = 'refused' AND actor = 'root'`); n != 3 {
		t.Fatalf("%d refused mints audited, want 3", n)
	}

	var agency, own createTokenResponse
	create("city-gis").expect(t, http.StatusCreated, "a token for an agency").decode(t, &agency)
	create("root").expect(t, http.StatusCreated, "an admin's own token").decode(t, &own)
	if agency.APIToken.MintedBy != "root" || own.APIToken.MintedBy != "" {
		t.Fatalf("minted_by: agency %q, own %q", agency.APIToken.MintedBy, own.APIToken.MintedBy)
	}
	e.do(request{method: "GET", path: "/test/agency", bearer: agency.Token}).expect(t, http.StatusOK, "the agency token works")
	e.do(request{method: "GET", path: "/test/expert", bearer: own.Token}).expect(t, http.StatusOK, "the admin's own token works")

	// Defence in depth: a token row minted by root for an expert (as an
	// older version allowed, or a later role change would make) is refused
	// at use.
	var epi int64
	if err := e.store.Pool.QueryRow(ctx, `SELECT id FROM users WHERE username = 'epi'`).Scan(&epi); err != nil {
		t.Fatal(err)
	}
	clear, prefix, err := zoning.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Pool.Exec(ctx, `INSERT INTO api_tokens (user_id, name, prefix, token_hash, minted_by) VALUES ($1, 'old', $2, $3, $4)`,
		epi, prefix, zoning.HashSecret(clear), root.ID); err != nil {
		t.Fatal(err)
	}
	e.do(request{method: "GET", path: "/test/expert", bearer: clear}).
		expectError(t, http.StatusUnauthorized, "unknown, expired or revoked", "a token minted by another admin for an expert")

	// The command line, whose operator can reach the database anyway,
	// still mints tokens for any account (riskzone user token).
	clear2, prefix2, _ := zoning.NewAPIToken()
	if _, err := e.store.CreateAPIToken(ctx, zoning.Origin{Actor: zoning.CLI()}, epi, "cli", prefix2, zoning.HashSecret(clear2), nil); err != nil {
		t.Fatal(err)
	}
	e.do(request{method: "GET", path: "/test/expert", bearer: clear2}).expect(t, http.StatusOK, "a token the command line minted")
}
