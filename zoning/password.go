package zoning

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id cost parameters used when a password is
// hashed. Verification always uses the parameters stored in the hash, so they
// can be raised later without invalidating existing passwords.
type PasswordParams struct {
	// Memory is the memory cost in KiB (65536 = 64 MiB).
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes.
	KeyLen uint32
}

// DefaultPasswordParams are the production parameters: argon2id with 64 MiB,
// one pass and two lanes (RFC 9106's second recommended option scaled to a
// login that should take well under a second), a 16-byte salt and a 32-byte key.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters read from a stored hash, so that a damaged or hostile
// row cannot make a login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB = 4 * 1024 * 1024
	maxTime      = 64
	minSaltLen   = 8
	minKeyLen    = 16
	maxSaltKey   = 1024
)

// Password length limits. The maximum keeps hashing cost independent of what
// a client sends; the minimum is for passwords people choose.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// Validate reports parameters that would give a weak or unusable hash.
func (p PasswordParams) Validate() error {
	switch {
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		return Errorf(ErrInvalid, "argon2id memory %d KiB: want at least 8 KiB per thread and at most %d KiB", p.Memory, maxMemoryKiB)
	case p.Time < 1 || p.Time > maxTime:
		return Errorf(ErrInvalid, "argon2id time %d: want 1 to %d", p.Time, maxTime)
	case p.Threads < 1:
		return Errorf(ErrInvalid, "argon2id threads %d: want at least 1", p.Threads)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltKey:
		return Errorf(ErrInvalid, "argon2id salt length %d: want %d to %d bytes", p.SaltLen, minSaltLen, maxSaltKey)
	case p.KeyLen < minKeyLen || p.KeyLen > maxSaltKey:
		return Errorf(ErrInvalid, "argon2id key length %d: want %d to %d bytes", p.KeyLen, minKeyLen, maxSaltKey)
	}
	return nil
}

// ValidatePassword checks a password chosen by a person before it is hashed.
func ValidatePassword(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return Errorf(ErrInvalid, "password too short: want at least %d characters", MinPasswordLen)
	case len(password) > MaxPasswordLen:
		return Errorf(ErrInvalid, "password too long: want at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// GeneratePassword returns a random password with 128 bits of entropy
// (26 base32 characters), for accounts created without one.
func GeneratePassword() string { return rand.Text() }

// HashPassword hashes password with argon2id and a fresh random salt and
// returns the PHC string $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func HashPassword(password string, p PasswordParams) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	if len(password) > MaxPasswordLen {
		return "", Errorf(ErrInvalid, "password too long: want at most %d bytes", MaxPasswordLen)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// VerifyPassword reports whether password matches the PHC string hash,
// comparing the derived keys in constant time. A malformed hash is an error
// (a damaged row, not a wrong password).
func VerifyPassword(password, hash string) (bool, error) {
	p, salt, key, err := decodePHC(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than p, so
// that a successful login can upgrade it.
func NeedsRehash(hash string, p PasswordParams) bool {
	hp, salt, key, err := decodePHC(hash)
	if err != nil {
		return true
	}
	return hp.Memory != p.Memory || hp.Time != p.Time || hp.Threads != p.Threads ||
		uint32(len(salt)) != p.SaltLen || uint32(len(key)) != p.KeyLen
}

// DummyPasswordHash is a well-formed hash with the cost of p that matches no
// password. Verifying against it when a username is unknown makes that
// answer take as long as a wrong password, so timing does not reveal which
// usernames exist.
func DummyPasswordHash(p PasswordParams) string {
	return encodePHC(p, make([]byte, p.SaltLen), make([]byte, p.KeyLen))
}

func decodePHC(hash string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	bad := func(why string) (PasswordParams, []byte, []byte, error) {
		// Never include the hash itself in the message.
		return p, nil, nil, fmt.Errorf("malformed argon2id hash: %s", why)
	}
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=...,t=...,p=...$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return bad("parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter " + k)
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("parameter p")
			}
			p.Threads = uint8(n)
		default:
			return bad("unknown parameter " + k)
		}
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return bad("salt encoding")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return bad("hash encoding")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return bad(Message(err))
	}
	return p, salt, key, nil
}
