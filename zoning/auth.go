package zoning

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"time"
)

// Role is what a user may do (SPEC §6). The public is anonymous and has no
// user row; RolePublic is its role.
type Role string

// The roles. Admin manages users and tokens and may do what every other role
// may do; the second-person rule still applies to admins (see SecondPerson).
const (
	RoleAdmin     Role = "admin"
	RoleExpert    Role = "expert"
	RolePublisher Role = "publisher"
	RoleAgency    Role = "agency"
	RolePublic    Role = "public"
)

// UserRoles are the roles a user account can hold, in the order they are
// listed in help texts.
func UserRoles() []Role { return []Role{RoleAdmin, RoleExpert, RolePublisher, RoleAgency} }

// ParseRole reads a role name (any of the five, case-insensitive).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	switch r {
	case RoleAdmin, RoleExpert, RolePublisher, RoleAgency, RolePublic:
		return r, nil
	}
	return "", Errorf(ErrInvalid, "unknown role %q: want admin, expert, publisher, agency or public", s)
}

// Assignable reports whether a user account may hold r (every role but public).
func (r Role) Assignable() bool {
	return r == RoleAdmin || r == RoleExpert || r == RolePublisher || r == RoleAgency
}

// How a principal was authenticated.
const (
	ViaSession   = "session"   // browser session cookie
	ViaToken     = "token"     // Authorization: Bearer API token
	ViaAnonymous = "anonymous" // no credentials
	ViaCLI       = "cli"       // the riskzone command line, run by an operator
)

// Principal is who makes a request: a user (by session or API token), the
// operator at the command line, or the anonymous public.
type Principal struct {
	UserID   int64  `json:"user_id,omitempty"`
	Username string `json:"username,omitempty"`
	Role     Role   `json:"role"`
	Via      string `json:"via"`
}

// Anonymous is the principal of a request without (valid) credentials.
func Anonymous() Principal { return Principal{Role: RolePublic, Via: ViaAnonymous} }

// CLI is the principal of the riskzone command line. Whoever can run it can
// reach the database directly, so it acts with the admin role; its audit rows
// name the actor "cli".
func CLI() Principal { return Principal{Username: "cli", Role: RoleAdmin, Via: ViaCLI} }

// Authenticated reports whether p is a user or the command line, not the public.
func (p Principal) Authenticated() bool { return p.Via != ViaAnonymous && p.Via != "" }

// Is reports whether p holds one of roles. Everyone holds RolePublic; an
// authenticated admin holds every role; the anonymous public holds nothing
// else. Is with no roles is false.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		switch {
		case r == RolePublic:
			return true
		case !p.Authenticated():
			// An anonymous principal never holds a user role, whatever its Role says.
		case p.Role == r || p.Role == RoleAdmin:
			return true
		}
	}
	return false
}

// SecondPerson enforces the second-person rule (SPEC §6): publishing or
// lifting needs someone other than the author. It holds for admins too.
func (p Principal) SecondPerson(authorID int64) error {
	if !p.Authenticated() || p.UserID == 0 {
		return Errorf(ErrForbidden, "a second person must confirm this, and you are not signed in as a user")
	}
	if p.UserID == authorID {
		return Errorf(ErrForbidden, "a second person must confirm this: you made the change yourself")
	}
	return nil
}

// Actor is the name the audit log records for p.
func (p Principal) Actor() string {
	switch {
	case p.Username != "":
		return p.Username
	case p.Via == "":
		return ViaAnonymous
	default:
		return p.Via
	}
}

// User is an account. The password hash is deliberately not part of it, so
// that a User can be returned, logged or audited without leaking it.
type User struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	Role        Role      `json:"role"`
	Disabled    bool      `json:"disabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// Principal is the principal of u authenticated via the given means.
func (u User) Principal(via string) Principal {
	return Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Via: via}
}

// NewUser is what creating an account needs. PasswordHash is a PHC string
// from HashPassword, or empty for an account that only uses API tokens.
type NewUser struct {
	Username     string
	DisplayName  string
	Role         Role
	PasswordHash string
}

// usernamePattern mirrors the CHECK on users.username.
var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,63}$`)

// NormalizeUsername trims and lower-cases a username as typed.
func NormalizeUsername(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidateUsername checks a (normalized) username against the schema's rule.
func ValidateUsername(s string) error {
	if !usernamePattern.MatchString(s) {
		return Errorf(ErrInvalid, "username %q: want 2 to 64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit", s)
	}
	return nil
}

// Validate checks a new account before it is stored.
func (n NewUser) Validate() error {
	if err := ValidateUsername(n.Username); err != nil {
		return err
	}
	if !n.Role.Assignable() {
		return Errorf(ErrInvalid, "role %q cannot be given to a user: want admin, expert, publisher or agency", n.Role)
	}
	if n.PasswordHash != "" && !strings.HasPrefix(n.PasswordHash, "$argon2id$") {
		return Errorf(ErrInvalid, "password hash is not an argon2id PHC string")
	}
	if len(n.DisplayName) > 200 {
		return Errorf(ErrInvalid, "display name too long: want at most 200 bytes")
	}
	return nil
}

// Session is a live browser session as the store returns it.
type Session struct {
	Principal Principal
	CSRFToken string
	ExpiresAt time.Time
}

// APIToken describes an API token. The clear token exists only once, when it
// is created; the store keeps its SHA-256 and the prefix shown to people.
type APIToken struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Username   string     `json:"username"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// MintedBy is the user who minted the token for another account
	// through the admin API; empty when the user or the command line did.
	MintedBy string `json:"minted_by,omitempty"`
}

// CheckMint enforces the second-person rule on tokens: a signed-in user
// may mint a token for their own account, or for an agency account (which
// cannot approve, publish or lift), but not for another admin, expert or
// publisher, since holding that token would let one person act as two.
// The command line (UserID 0) is not held to it: its operator can reach the
// database directly.
func CheckMint(minter Principal, target User) error {
	if minter.UserID == 0 || minter.UserID == target.ID || target.Role == RoleAgency {
		return nil
	}
	return Errorf(ErrForbidden, "a token for %s (%s) can only be created by %s themselves: a token minted for another %s would let one person act as two under the second-person rule",
		target.Username, target.Role, target.Username, target.Role)
}

// APITokenPrefix starts every API token, so that leaked tokens are easy to
// recognise (e.g. by secret scanners).
const APITokenPrefix = "rz_"

// apiTokenPrefixLen is how many characters of a token are kept to tell
// tokens apart: "rz_" and 8 random characters (48 of its 256 bits).
const apiTokenPrefixLen = len(APITokenPrefix) + 8

// NewSecret returns 256 random bits, base64url-encoded without padding: the
// value of a session cookie or a CSRF token.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewAPIToken returns a fresh token "rz_<256 random bits>" and the prefix kept
// for display.
func NewAPIToken() (token, prefix string, err error) {
	s, err := NewSecret()
	if err != nil {
		return "", "", err
	}
	token = APITokenPrefix + s
	return token, token[:apiTokenPrefixLen], nil
}

// LooksLikeAPIToken reports whether s has the shape of a token made by
// NewAPIToken.
func LooksLikeAPIToken(s string) bool {
	return strings.HasPrefix(s, APITokenPrefix) && len(s) == len(APITokenPrefix)+43
}

// HashSecret is the SHA-256 of a session cookie value or API token: the only
// form in which the store keeps them. The secrets carry 256 random bits, so a
// fast hash is enough (there is nothing to brute-force).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Audit outcomes (audit_log.outcome).
const (
	OutcomeOK       = "ok"
	OutcomeRefused  = "refused"
	OutcomeConflict = "conflict"
	OutcomeError    = "error"
)

// AuditEntry is one row of the append-only audit log: who (Actor, RemoteAddr),
// what (Action on Entity/EntityID, Before and After as JSON), why (Reason) and
// how it ended (Outcome, default "ok"). The time is the database's. Never put
// a password, token or cookie in any field; the writer also drops JSON keys
// that look like secrets, as a second line of defence.
type AuditEntry struct {
	Actor      Principal
	Action     string
	Entity     string
	EntityID   string
	Reason     string
	Outcome    string
	Before     any
	After      any
	RemoteAddr string
}

// Origin is who makes a change, from where and why: what a store write
// method needs, besides the change itself, to audit it.
type Origin struct {
	Actor      Principal
	RemoteAddr string
	Reason     string
}

// Entry starts the audit entry of a change made by o.
func (o Origin) Entry(action, entity, entityID string) AuditEntry {
	return AuditEntry{
		Actor:      o.Actor,
		Action:     action,
		Entity:     entity,
		EntityID:   entityID,
		Reason:     o.Reason,
		Outcome:    OutcomeOK,
		RemoteAddr: o.RemoteAddr,
	}
}
