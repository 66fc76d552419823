package zoning_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

func TestParseRole(t *testing.T) {
	for in, want := range map[string]zoning.Role{
		"admin": zoning.RoleAdmin, "Expert": zoning.RoleExpert, " publisher ": zoning.RolePublisher,
		"agency": zoning.RoleAgency, "public": zoning.RolePublic,
	} {
		got, err := zoning.ParseRole(in)
		if err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := zoning.ParseRole("root"); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("ParseRole(root): %v, want ErrInvalid", err)
	}
	if zoning.RolePublic.Assignable() || !zoning.RoleAgency.Assignable() {
		t.Error("Assignable: public must not be assignable, agency must")
	}
}

func TestPrincipalIs(t *testing.T) {
	admin := zoning.Principal{UserID: 1, Username: "root", Role: zoning.RoleAdmin, Via: zoning.ViaSession}
	expert := zoning.Principal{UserID: 2, Username: "e", Role: zoning.RoleExpert, Via: zoning.ViaToken}
	anon := zoning.Anonymous()
	// An anonymous principal never holds a user role, even if its Role field lies.
	forged := zoning.Principal{Role: zoning.RoleAdmin, Via: zoning.ViaAnonymous}
	cases := []struct {
		name  string
		p     zoning.Principal
		roles []zoning.Role
		want  bool
	}{
		{"admin is expert", admin, []zoning.Role{zoning.RoleExpert}, true},
		{"admin is agency", admin, []zoning.Role{zoning.RoleAgency}, true},
		{"expert is expert", expert, []zoning.Role{zoning.RoleExpert}, true},
		{"expert is one of", expert, []zoning.Role{zoning.RolePublisher, zoning.RoleExpert}, true},
		{"expert is not publisher", expert, []zoning.Role{zoning.RolePublisher}, false},
		{"expert is not admin", expert, []zoning.Role{zoning.RoleAdmin}, false},
		{"anonymous is public", anon, []zoning.Role{zoning.RolePublic}, true},
		{"anonymous is not agency", anon, []zoning.Role{zoning.RoleAgency}, false},
		{"forged anonymous admin", forged, []zoning.Role{zoning.RoleAdmin}, false},
		{"everyone is public", expert, []zoning.Role{zoning.RolePublic}, true},
		{"no roles", admin, nil, false},
	}
	for _, c := range cases {
		if got := c.p.Is(c.roles...); got != c.want {
			t.Errorf("%s: Is(%v) = %v, want %v", c.name, c.roles, got, c.want)
		}
	}
	if anon.Authenticated() || !expert.Authenticated() || !zoning.CLI().Authenticated() {
		t.Error("Authenticated is wrong")
	}
}

func TestSecondPersonAppliesToAdmins(t *testing.T) {
	admin := zoning.Principal{UserID: 1, Username: "root", Role: zoning.RoleAdmin, Via: zoning.ViaSession}
	if err := admin.SecondPerson(1); !errors.Is(err, zoning.ErrForbidden) {
		t.Errorf("admin confirming own change: %v, want ErrForbidden", err)
	}
	if err := admin.SecondPerson(2); err != nil {
		t.Errorf("admin confirming another's change: %v", err)
	}
	if err := zoning.Anonymous().SecondPerson(2); !errors.Is(err, zoning.ErrForbidden) {
		t.Errorf("anonymous: %v, want ErrForbidden", err)
	}
	if err := zoning.CLI().SecondPerson(2); !errors.Is(err, zoning.ErrForbidden) {
		t.Errorf("cli (no user): %v, want ErrForbidden", err)
	}
}

func TestActorNames(t *testing.T) {
	if got := zoning.Anonymous().Actor(); got != "anonymous" {
		t.Errorf("anonymous actor %q", got)
	}
	if got := zoning.CLI().Actor(); got != "cli" {
		t.Errorf("cli actor %q", got)
	}
	if got := (zoning.Principal{}).Actor(); got != "anonymous" {
		t.Errorf("zero principal actor %q", got)
	}
}

func TestUsernames(t *testing.T) {
	if got := zoning.NormalizeUsername("  Alice "); got != "alice" {
		t.Errorf("normalize: %q", got)
	}
	for _, ok := range []string{"al", "alice", "a.b-c_d", "0day"} {
		if err := zoning.ValidateUsername(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "Alice", "-x", "a b", strings.Repeat("a", 65), "张三"} {
		if err := zoning.ValidateUsername(bad); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("%q: %v, want ErrInvalid", bad, err)
		}
	}
	nu := zoning.NewUser{Username: "pub", Role: zoning.RolePublic}
	if err := nu.Validate(); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("user with role public: %v, want ErrInvalid", err)
	}
	nu = zoning.NewUser{Username: "x1", Role: zoning.RoleExpert, PasswordHash: "plaintext"}
	if err := nu.Validate(); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("clear password as hash: %v, want ErrInvalid", err)
	}
}

func TestSecretsAndTokens(t *testing.T) {
	a, err := zoning.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := zoning.NewSecret()
	if a == b || len(a) != 43 {
		t.Fatalf("secrets %q %q: want distinct 43-character values (256 bits)", a, b)
	}
	tok, prefix, err := zoning.NewAPIToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "rz_") || !zoning.LooksLikeAPIToken(tok) {
		t.Fatalf("token %q does not look like rz_<random>", tok)
	}
	if !strings.HasPrefix(tok, prefix) || len(prefix) != 11 {
		t.Fatalf("prefix %q of %q", prefix, tok)
	}
	for _, bad := range []string{"", "rz_", "rz_short", "xx_" + tok[3:], tok + "x"} {
		if zoning.LooksLikeAPIToken(bad) {
			t.Errorf("LooksLikeAPIToken(%q) = true", bad)
		}
	}
	h := zoning.HashSecret(tok)
	if len(h) != 32 || bytes.Equal(h, zoning.HashSecret(tok+"x")) || !bytes.Equal(h, zoning.HashSecret(tok)) {
		t.Fatal("HashSecret is not a stable 32-byte digest")
	}
}

func TestOriginEntry(t *testing.T) {
	o := zoning.Origin{Actor: zoning.CLI(), RemoteAddr: "10.0.0.1", Reason: "onboarding"}
	e := o.Entry("user.create", "user", "7")
	if e.Actor != zoning.CLI() || e.Action != "user.create" || e.Entity != "user" || e.EntityID != "7" ||
		e.Reason != "onboarding" || e.Outcome != zoning.OutcomeOK || e.RemoteAddr != "10.0.0.1" {
		t.Fatalf("entry %+v", e)
	}
}

func TestCheckMint(t *testing.T) {
	admin := zoning.Principal{UserID: 1, Username: "root", Role: zoning.RoleAdmin, Via: zoning.ViaSession}
	for _, c := range []struct {
		minter zoning.Principal
		target zoning.User
		ok     bool
	}{
		{admin, zoning.User{ID: 1, Username: "root", Role: zoning.RoleAdmin}, true},
		{admin, zoning.User{ID: 2, Username: "gis", Role: zoning.RoleAgency}, true},
		{admin, zoning.User{ID: 3, Username: "epi", Role: zoning.RoleExpert}, false},
		{admin, zoning.User{ID: 4, Username: "pub", Role: zoning.RolePublisher}, false},
		{admin, zoning.User{ID: 5, Username: "boss", Role: zoning.RoleAdmin}, false},
		{zoning.CLI(), zoning.User{ID: 3, Username: "epi", Role: zoning.RoleExpert}, true},
	} {
		err := zoning.CheckMint(c.minter, c.target)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, zoning.ErrForbidden)) {
			t.Errorf("%s mints for %s (%s): %v, want ok=%v", c.minter.Actor(), c.target.Username, c.target.Role, err, c.ok)
		}
	}
}
