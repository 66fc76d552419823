package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/riskzone/riskzone/zoning"
)

// AuditDB is where WriteAudit writes: a pgx.Tx, so that the entry commits
// (or rolls back) with the change it records, or the Store's pool to write an
// entry on its own (e.g. a refused login, which changes nothing else).
type AuditDB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

const insertAuditSQL = `
INSERT INTO audit_log (actor_id, actor, role, action, entity, entity_id, reason, outcome, before, after, remote_addr)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// WriteAudit appends e to the audit log through db. The log is append-only
// (the database refuses UPDATE, DELETE and TRUNCATE on it). Before and After
// are stored as JSON with every key that looks like a secret (password,
// token, secret, csrf, cookie, hash) replaced by "[redacted]".
func WriteAudit(ctx context.Context, db AuditDB, e zoning.AuditEntry) error {
	if e.Action == "" || e.Entity == "" {
		return fmt.Errorf("audit entry: action and entity are required")
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = zoning.OutcomeOK
	}
	before, err := auditJSON(e.Before)
	if err != nil {
		return fmt.Errorf("audit %s %s: before: %w", e.Action, e.Entity, err)
	}
	after, err := auditJSON(e.After)
	if err != nil {
		return fmt.Errorf("audit %s %s: after: %w", e.Action, e.Entity, err)
	}
	var actorID *int64
	if e.Actor.UserID != 0 {
		actorID = &e.Actor.UserID
	}
	role := string(e.Actor.Role)
	if role == "" {
		role = string(zoning.RolePublic)
	}
	if _, err := db.Exec(ctx, insertAuditSQL, actorID, e.Actor.Actor(), role, e.Action, e.Entity,
		e.EntityID, e.Reason, outcome, before, after, e.RemoteAddr); err != nil {
		return fmt.Errorf("audit %s %s: %w", e.Action, e.Entity, err)
	}
	return nil
}

// Audit appends e to the audit log on its own, outside any other transaction.
func (s *Store) Audit(ctx context.Context, e zoning.AuditEntry) error {
	return WriteAudit(ctx, s.Pool, e)
}

// auditJSON marshals v for a jsonb column (nil stays NULL), redacting
// secret-looking keys at any depth.
func auditJSON(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, err
	}
	return json.Marshal(redact(tree))
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			if secretKey(k) {
				t[k] = "[redacted]"
				continue
			}
			t[k] = redact(sub)
		}
	case []any:
		for i := range t {
			t[i] = redact(t[i])
		}
	}
	return v
}

// secretKey reports whether a JSON key names something that must never be in
// the audit log. Token metadata such as "token_id" or "prefix" is fine.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "secret", "csrf", "cookie", "authorization", "hash"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return k == "token" || strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "token_value")
}
