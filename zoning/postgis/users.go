package postgis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riskzone/riskzone/zoning"
)

// SQLSTATE codes the user and token methods map to domain errors (never the
// message text, which is localised and changes between versions).
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCheckViolation      = "23514"
)

// sqlstateOf is the SQLSTATE of err, or "" when it is not a server error.
func sqlstateOf(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

const userColumns = `u.id, u.username, u.display_name, u.role, u.disabled, u.created_at`

func scanUser(row pgx.Row) (zoning.User, error) {
	var u zoning.User
	var role string
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.Disabled, &u.CreatedAt)
	u.Role = zoning.Role(role)
	return u, err
}

// CreateUser stores a new account and audits it ("user.create") in the same
// transaction. A taken username is zoning.ErrConflict; bad fields are
// zoning.ErrInvalid.
func (s *Store) CreateUser(ctx context.Context, o zoning.Origin, nu zoning.NewUser) (zoning.User, error) {
	nu.Username = zoning.NormalizeUsername(nu.Username)
	if err := nu.Validate(); err != nil {
		return zoning.User{}, err
	}
	var hash *string
	if nu.PasswordHash != "" {
		hash = &nu.PasswordHash
	}
	var u zoning.User
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var err error
		u, err = scanUser(tx.QueryRow(ctx, `
			INSERT INTO users AS u (username, display_name, role, password_hash)
			VALUES ($1, $2, $3, $4)
			RETURNING `+userColumns, nu.Username, nu.DisplayName, string(nu.Role), hash))
		if err != nil {
			return err
		}
		e := o.Entry("user.create", "user", strconv.FormatInt(u.ID, 10))
		e.After = u
		return WriteAudit(ctx, tx, e)
	})
	switch {
	case sqlstateOf(err) == sqlstateUniqueViolation:
		return zoning.User{}, zoning.Errorf(zoning.ErrConflict, "user %q already exists", nu.Username)
	case sqlstateOf(err) == sqlstateCheckViolation:
		return zoning.User{}, zoning.Errorf(zoning.ErrInvalid, "user %q: a field breaks a rule of the users table", nu.Username)
	case err != nil:
		return zoning.User{}, fmt.Errorf("create user %q: %w", nu.Username, err)
	}
	return u, nil
}

// UserByUsername finds an account; an unknown name is zoning.ErrNotFound.
func (s *Store) UserByUsername(ctx context.Context, username string) (zoning.User, error) {
	username = zoning.NormalizeUsername(username)
	u, err := scanUser(s.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.User{}, zoning.Errorf(zoning.ErrNotFound, "no user %q", username)
	}
	if err != nil {
		return zoning.User{}, fmt.Errorf("load user %q: %w", username, err)
	}
	return u, nil
}

// UserByID finds an account; an unknown id is zoning.ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id int64) (zoning.User, error) {
	u, err := scanUser(s.Pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.User{}, zoning.Errorf(zoning.ErrNotFound, "no user with id %d", id)
	}
	if err != nil {
		return zoning.User{}, fmt.Errorf("load user %d: %w", id, err)
	}
	return u, nil
}

// LoginCredentials returns an account and its password hash ("" when the
// account has no password), for verifying a login. An unknown name is
// zoning.ErrNotFound. The hash must go no further than VerifyPassword.
func (s *Store) LoginCredentials(ctx context.Context, username string) (zoning.User, string, error) {
	username = zoning.NormalizeUsername(username)
	var hash *string
	var u zoning.User
	var role string
	err := s.Pool.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.username = $1`, username).
		Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.Disabled, &u.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.User{}, "", zoning.Errorf(zoning.ErrNotFound, "no user %q", username)
	}
	if err != nil {
		return zoning.User{}, "", fmt.Errorf("load credentials of %q: %w", username, err)
	}
	u.Role = zoning.Role(role)
	if hash == nil {
		return u, "", nil
	}
	return u, *hash, nil
}

// ListUsers lists every account by username.
func (s *Store) ListUsers(ctx context.Context) ([]zoning.User, error) {
	rows, err := s.Pool.Query(ctx, `SELECT `+userColumns+` FROM users u ORDER BY u.username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// SetPassword replaces the password hash of a user and revokes the user's
// live sessions, so a changed password locks out whoever knew the old one.
// Audited as "user.set_password" (without the hash).
func (s *Store) SetPassword(ctx context.Context, o zoning.Origin, userID int64, hash string) error {
	if hash == "" {
		return zoning.Errorf(zoning.ErrInvalid, "empty password hash")
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return zoning.Errorf(zoning.ErrNotFound, "no user with id %d", userID)
		}
		tag, err = tx.Exec(ctx, `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`, userID)
		if err != nil {
			return err
		}
		e := o.Entry("user.set_password", "user", strconv.FormatInt(userID, 10))
		e.After = map[string]any{"sessions_revoked": tag.RowsAffected()}
		return WriteAudit(ctx, tx, e)
	})
	switch {
	case zoning.Kind(err) != nil:
		return err
	case sqlstateOf(err) == sqlstateCheckViolation:
		return zoning.Errorf(zoning.ErrInvalid, "password hash is not an argon2id PHC string")
	case err != nil:
		return fmt.Errorf("set password of user %d: %w", userID, err)
	}
	return nil
}

// sessionRef is how the audit log names a session: the first 8 bytes of its
// hash in hex, enough to tie a logout to its login and useless to an attacker.
func sessionRef(tokenHash []byte) string {
	if len(tokenHash) < 8 {
		return ""
	}
	return fmt.Sprintf("%x", tokenHash[:8])
}

// CreateSession stores a login session by the SHA-256 of its cookie value
// and audits the login ("login" on entity "user", outcome ok) in the same
// transaction.
func (s *Store) CreateSession(ctx context.Context, o zoning.Origin, userID int64, tokenHash []byte, csrfToken string, expiresAt time.Time) error {
	if len(tokenHash) != 32 {
		return fmt.Errorf("create session: token hash must be 32 bytes")
	}
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
			VALUES ($1, $2, $3, $4)`, tokenHash, userID, csrfToken, expiresAt); err != nil {
			return err
		}
		e := o.Entry("login", "user", strconv.FormatInt(userID, 10))
		e.After = map[string]any{"session_ref": sessionRef(tokenHash), "expires_at": expiresAt.UTC()}
		return WriteAudit(ctx, tx, e)
	})
	switch {
	case sqlstateOf(err) == sqlstateForeignKeyViolation:
		return zoning.Errorf(zoning.ErrNotFound, "no user with id %d", userID)
	case sqlstateOf(err) == sqlstateCheckViolation:
		return zoning.Errorf(zoning.ErrInvalid, "session must expire after it starts")
	case err != nil:
		return fmt.Errorf("create session for user %d: %w", userID, err)
	}
	return nil
}

// SessionByHash returns the live session (not revoked, not expired, user not
// disabled) whose cookie hashes to tokenHash; anything else is
// zoning.ErrNotFound.
func (s *Store) SessionByHash(ctx context.Context, tokenHash []byte) (zoning.Session, error) {
	var ses zoning.Session
	var role string
	p := &ses.Principal
	err := s.Pool.QueryRow(ctx, `
		SELECT u.id, u.username, u.role, s.csrf_token, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled`,
		tokenHash).Scan(&p.UserID, &p.Username, &role, &ses.CSRFToken, &ses.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.Session{}, zoning.Errorf(zoning.ErrNotFound, "no live session")
	}
	if err != nil {
		return zoning.Session{}, fmt.Errorf("load session: %w", err)
	}
	p.Role = zoning.Role(role)
	p.Via = zoning.ViaSession
	return ses, nil
}

// RevokeSession ends a session (logout) and audits it ("logout" on entity
// "user"). Revoking a session that is unknown or already ended is
// zoning.ErrNotFound.
func (s *Store) RevokeSession(ctx context.Context, o zoning.Origin, tokenHash []byte) error {
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, `
			UPDATE sessions SET revoked_at = now()
			WHERE token_hash = $1 AND revoked_at IS NULL
			RETURNING user_id`, tokenHash).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no live session")
		}
		if err != nil {
			return err
		}
		e := o.Entry("logout", "user", strconv.FormatInt(userID, 10))
		e.After = map[string]any{"session_ref": sessionRef(tokenHash)}
		return WriteAudit(ctx, tx, e)
	})
	if err != nil && zoning.Kind(err) == nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return err
}

const tokenColumns = `t.id, t.user_id, u.username, t.name, t.prefix, t.created_at, t.expires_at, t.revoked_at, t.last_used_at,
	COALESCE((SELECT m.username FROM users m WHERE m.id = t.minted_by AND t.minted_by <> t.user_id), '')`

func scanToken(row pgx.Row) (zoning.APIToken, error) {
	var t zoning.APIToken
	err := row.Scan(&t.ID, &t.UserID, &t.Username, &t.Name, &t.Prefix, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt, &t.MintedBy)
	return t, err
}

// CreateAPIToken stores an API token of a user by its SHA-256 and display
// prefix, and audits it ("token.create") in the same transaction. expiresAt
// nil means the token does not expire. An unknown user is zoning.ErrNotFound.
func (s *Store) CreateAPIToken(ctx context.Context, o zoning.Origin, userID int64, name, prefix string, tokenHash []byte, expiresAt *time.Time) (zoning.APIToken, error) {
	switch {
	case name == "":
		return zoning.APIToken{}, zoning.Errorf(zoning.ErrInvalid, "a token needs a name (what or who it is for)")
	case len(name) > 200:
		return zoning.APIToken{}, zoning.Errorf(zoning.ErrInvalid, "token name too long: want at most 200 bytes")
	case len(tokenHash) != 32:
		return zoning.APIToken{}, fmt.Errorf("create token: token hash must be 32 bytes")
	case expiresAt != nil && !expiresAt.After(time.Now()):
		return zoning.APIToken{}, zoning.Errorf(zoning.ErrInvalid, "token expiry %s is in the past", expiresAt.UTC().Format(time.RFC3339))
	}
	var t zoning.APIToken
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		target, err := scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1 FOR SHARE`, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no user with id %d", userID)
		}
		if err != nil {
			return err
		}
		if err := zoning.CheckMint(o.Actor, target); err != nil {
			return err
		}
		t, err = scanToken(tx.QueryRow(ctx, `
			WITH t AS (
				INSERT INTO api_tokens (user_id, name, prefix, token_hash, expires_at, minted_by)
				VALUES ($1, $2, $3, $4, $5, $6)
				RETURNING *)
			SELECT `+tokenColumns+` FROM t JOIN users u ON u.id = t.user_id`,
			userID, name, prefix, tokenHash, expiresAt, actorID(o)))
		if err != nil {
			return err
		}
		e := o.Entry("token.create", "api_token", strconv.FormatInt(t.ID, 10))
		e.After = t
		return WriteAudit(ctx, tx, e)
	})
	switch {
	case errors.Is(err, zoning.ErrForbidden):
		// A refused mint is a security event: audited on its own, since
		// the transaction rolled back.
		e := o.Entry("token.create", "user", strconv.FormatInt(userID, 10))
		e.Outcome, e.After = zoning.OutcomeRefused, map[string]any{"refused": zoning.Message(err), "name": name}
		if aerr := WriteAudit(context.WithoutCancel(ctx), s.Pool, e); aerr != nil {
			return zoning.APIToken{}, fmt.Errorf("token refused (%s) and the refusal could not be audited: %w", zoning.Message(err), aerr)
		}
		return zoning.APIToken{}, err
	case errors.Is(err, zoning.ErrNotFound):
		return zoning.APIToken{}, err
	case sqlstateOf(err) == sqlstateForeignKeyViolation:
		return zoning.APIToken{}, zoning.Errorf(zoning.ErrNotFound, "no user with id %d", userID)
	case sqlstateOf(err) == sqlstateUniqueViolation:
		// A 256-bit collision: practically impossible, but never silently.
		return zoning.APIToken{}, zoning.Errorf(zoning.ErrConflict, "token already exists; create another")
	case err != nil:
		return zoning.APIToken{}, fmt.Errorf("create token %q for user %d: %w", name, userID, err)
	}
	return t, nil
}

// PrincipalByTokenHash resolves a live API token (not revoked, not expired,
// user not disabled) to its user; anything else is zoning.ErrNotFound. It
// also records last_used_at, at most once a minute per token, so that busy
// clients do not turn every read into a write.
func (s *Store) PrincipalByTokenHash(ctx context.Context, tokenHash []byte) (zoning.Principal, error) {
	var p zoning.Principal
	var role string
	err := s.Pool.QueryRow(ctx, `
		WITH live AS (
			SELECT t.id, t.last_used_at, u.id AS user_id, u.username, u.role
			FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.token_hash = $1 AND t.revoked_at IS NULL
			  AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT u.disabled
			  -- zoning.CheckMint, again at use: a token minted for another
			  -- account is only ever honoured for an agency.
			  AND (t.minted_by IS NULL OR t.minted_by = t.user_id OR u.role = 'agency')
		), touched AS (
			UPDATE api_tokens SET last_used_at = now()
			WHERE id = (SELECT id FROM live)
			  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
		)
		SELECT user_id, username, role FROM live`, tokenHash).Scan(&p.UserID, &p.Username, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return zoning.Principal{}, zoning.Errorf(zoning.ErrNotFound, "no live API token")
	}
	if err != nil {
		return zoning.Principal{}, fmt.Errorf("load API token: %w", err)
	}
	p.Role = zoning.Role(role)
	p.Via = zoning.ViaToken
	return p, nil
}

// RevokeAPIToken revokes a token by id and audits it ("token.revoke", with
// the token before and after). Revoking a revoked token keeps the first
// revocation time. An unknown id is zoning.ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, o zoning.Origin, id int64) (zoning.APIToken, error) {
	var after zoning.APIToken
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		before, err := scanToken(tx.QueryRow(ctx, `
			SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
			WHERE t.id = $1 FOR UPDATE OF t`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return zoning.Errorf(zoning.ErrNotFound, "no API token with id %d", id)
		}
		if err != nil {
			return err
		}
		after = before
		if before.RevokedAt == nil {
			if err := tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE id = $1 RETURNING revoked_at`, id).
				Scan(&after.RevokedAt); err != nil {
				return err
			}
		}
		e := o.Entry("token.revoke", "api_token", strconv.FormatInt(id, 10))
		e.Before, e.After = before, after
		return WriteAudit(ctx, tx, e)
	})
	if err != nil && zoning.Kind(err) == nil {
		return zoning.APIToken{}, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	return after, err
}

// ListAPITokens lists the tokens of a user (userID 0: of every user), newest
// first, revoked and expired ones included.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]zoning.APIToken, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT `+tokenColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE $1::bigint = 0 OR t.user_id = $1::bigint
		ORDER BY t.created_at DESC, t.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	tokens, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (zoning.APIToken, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return tokens, nil
}
