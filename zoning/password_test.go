package zoning_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/riskzone/riskzone/zoning"
)

// cheap keeps the tests fast; production uses DefaultPasswordParams.
var cheap = zoning.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestHashPasswordFormat(t *testing.T) {
	h, err := zoning.HashPassword("correct horse battery staple", cheap)
	if err != nil {
		t.Fatal(err)
	}
	m := phc.FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Errorf("parameters m=%s t=%s p=%s, want 64, 1, 1", m[1], m[2], m[3])
	}
	// Unpadded base64: 16 bytes -> 22 chars, 32 bytes -> 43 chars.
	if len(m[4]) != 22 || len(m[5]) != 43 {
		t.Errorf("salt/hash lengths %d/%d, want 22/43", len(m[4]), len(m[5]))
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
}

func TestDefaultParams(t *testing.T) {
	p := zoning.DefaultPasswordParams()
	if p.Memory != 64*1024 || p.Time != 1 || p.Threads != 2 {
		t.Fatalf("default params %+v, want m=65536 t=1 p=2", p)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyPassword(t *testing.T) {
	h, err := zoning.HashPassword("s3cret-pass-word", cheap)
	if err != nil {
		t.Fatal(err)
	}
	for pw, want := range map[string]bool{
		"s3cret-pass-word":  true,
		"s3cret-pass-word ": false,
		"S3cret-pass-word":  false,
		"":                  false,
	} {
		got, err := zoning.VerifyPassword(pw, h)
		if err != nil {
			t.Fatalf("verify %q: %v", pw, err)
		}
		if got != want {
			t.Errorf("verify %q = %v, want %v", pw, got, want)
		}
	}
}

func TestSaltMakesHashesDiffer(t *testing.T) {
	a, _ := zoning.HashPassword("same password", cheap)
	b, _ := zoning.HashPassword("same password", cheap)
	if a == b {
		t.Fatal("two hashes of the same password are equal: the salt is not random")
	}
	for _, h := range []string{a, b} {
		if ok, err := zoning.VerifyPassword("same password", h); !ok || err != nil {
			t.Fatalf("verify = %v, %v", ok, err)
		}
	}
}

func TestVerifyUsesStoredParams(t *testing.T) {
	other := cheap
	other.Memory, other.Time = 128, 2
	h, _ := zoning.HashPassword("pw-with-other-params", other)
	if ok, err := zoning.VerifyPassword("pw-with-other-params", h); !ok || err != nil {
		t.Fatalf("verify with parameters from the hash = %v, %v", ok, err)
	}
	if !zoning.NeedsRehash(h, cheap) || zoning.NeedsRehash(h, other) {
		t.Fatal("NeedsRehash does not compare parameters")
	}
}

func TestVerifyMalformed(t *testing.T) {
	good, _ := zoning.HashPassword("x", cheap)
	parts := strings.Split(good, "$")
	for name, h := range map[string]string{
		"empty":       "",
		"bcrypt":      "$2a$10$abcdefghijklmnopqrstuu5Kd1d6ZJb8O5D7Z1mZ2YH1Cj2n5b3y",
		"argon2i":     strings.Replace(good, "argon2id", "argon2i", 1),
		"version":     strings.Replace(good, "v=19", "v=16", 1),
		"no params":   "$argon2id$v=19$" + parts[4] + "$" + parts[5],
		"bad salt":    "$argon2id$v=19$" + parts[3] + "$!!!$" + parts[5],
		"huge memory": "$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5],
		"zero time":   "$argon2id$v=19$m=64,t=0,p=1$" + parts[4] + "$" + parts[5],
		"short key":   "$argon2id$v=19$" + parts[3] + "$" + parts[4] + "$AAAA",
	} {
		ok, err := zoning.VerifyPassword("x", h)
		if err == nil || ok {
			t.Errorf("%s: verify = %v, %v; want an error", name, ok, err)
		}
	}
}

func TestDummyHashMatchesNothing(t *testing.T) {
	d := zoning.DummyPasswordHash(cheap)
	if !phc.MatchString(d) {
		t.Fatalf("dummy hash %q is not well formed", d)
	}
	for _, pw := range []string{"", "password", "x"} {
		if ok, err := zoning.VerifyPassword(pw, d); ok || err != nil {
			t.Fatalf("dummy verify %q = %v, %v", pw, ok, err)
		}
	}
}

func TestPasswordParamsValidate(t *testing.T) {
	bad := []zoning.PasswordParams{
		{Memory: 0, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	}
	for _, p := range bad {
		if _, err := zoning.HashPassword("x", p); !errors.Is(err, zoning.ErrInvalid) {
			t.Errorf("HashPassword with %+v: err %v, want ErrInvalid", p, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	if err := zoning.ValidatePassword("short"); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("short password: %v", err)
	}
	if err := zoning.ValidatePassword(strings.Repeat("x", zoning.MaxPasswordLen+1)); !errors.Is(err, zoning.ErrInvalid) {
		t.Errorf("long password: %v", err)
	}
	if err := zoning.ValidatePassword("长城长城长城长城长城长城"); err != nil {
		t.Errorf("12 CJK characters: %v", err)
	}
	g := zoning.GeneratePassword()
	if err := zoning.ValidatePassword(g); err != nil || g == zoning.GeneratePassword() {
		t.Errorf("generated password %q: %v", g, err)
	}
}
