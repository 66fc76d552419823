package postgis

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The database roles of riskzone (docs/operations.md, "Database roles").
// Roles are objects of the whole PostgreSQL cluster, so their names are fixed
// and documented; a deployment maps its own login roles onto them by
// membership (GRANT riskzone_app TO svc_login).
const (
	// OwnerRole owns the schema: every table, view, sequence and function
	// of riskzone. It cannot log in; migrations SET ROLE to it.
	OwnerRole = "riskzone_owner"
	// AppRole is what `serve` and the data commands connect as: SELECT,
	// INSERT, UPDATE and DELETE on the data tables, and only INSERT and
	// SELECT on the audit log and the published notices (migration 012).
	AppRole = "riskzone_app"
)

// AsRole returns dsn with the session's role set to role at connection start
// (the PostgreSQL setting "role", as SET ROLE would), for a login that is a
// member of role: a superuser, or a deployment's migration login acting as
// OwnerRole.
func AsRole(dsn, role string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		q := u.Query()
		q.Set("role", role)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " role=" + role
}

// prepareRoles readies the database at conn for migrations run as OwnerRole.
// It runs as the login of the migration URL, before SET ROLE:
//   - the two roles are created (NOLOGIN) when missing and this login may
//     create roles; otherwise a missing role is an error naming the fix;
//   - the login must be able to act as OwnerRole (a superuser, the role
//     itself, or a member of it);
//   - PostGIS and btree_gist are created when missing (PostGIS is not a
//     trusted extension, so the owner role could not create it);
//   - OwnerRole may create objects in schema public, and AppRole may use it;
//   - objects an older release created as the migrating login (every table
//     up to migration 011) are handed to OwnerRole.
//
// It holds an advisory lock so that concurrent migrations of one database
// do not grant or change owners at once ("tuple concurrently updated").
func prepareRoles(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext('riskzone-migrate-roles'))"); err != nil {
		return fmt.Errorf("lock role preparation: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext('riskzone-migrate-roles'))")
	var login string
	var super, createRole bool
	if err := conn.QueryRow(ctx, `SELECT rolname, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = session_user`).
		Scan(&login, &super, &createRole); err != nil {
		return fmt.Errorf("read the migrating login: %w", err)
	}
	for _, role := range []string{OwnerRole, AppRole} {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
			return fmt.Errorf("look for role %s: %w", role, err)
		}
		if exists {
			continue
		}
		if !super && !createRole {
			return fmt.Errorf("role %s does not exist and %s may not create roles: create it (CREATE ROLE %s NOLOGIN, docs/operations.md \"Database roles\")", role, login, role)
		}
		if _, err := conn.Exec(ctx, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" NOLOGIN"); err != nil && !isDuplicateRole(err) {
			return fmt.Errorf("create role %s: %w", role, err)
		}
	}
	var member bool
	if err := conn.QueryRow(ctx, "SELECT pg_has_role(session_user, $1, 'MEMBER')", OwnerRole).Scan(&member); err != nil {
		return fmt.Errorf("check that %s may act as %s: %w", login, OwnerRole, err)
	}
	if !member {
		return fmt.Errorf("%s may not act as %s: GRANT %s TO %s, or migrate as a superuser (docs/operations.md \"Database roles\")", login, OwnerRole, OwnerRole, login)
	}
	for _, ext := range []string{"postgis", "btree_gist"} {
		var have bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1)", ext).Scan(&have); err != nil {
			return fmt.Errorf("look for extension %s: %w", ext, err)
		}
		if !have {
			if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS "+pgx.Identifier{ext}.Sanitize()); err != nil {
				return fmt.Errorf("create extension %s as %s (a superuser or the database's administrator creates it once): %w", ext, login, err)
			}
		}
	}
	var ownerCreate, appUsage bool
	if err := conn.QueryRow(ctx, "SELECT has_schema_privilege($1, 'public', 'CREATE'), has_schema_privilege($2, 'public', 'USAGE')",
		OwnerRole, AppRole).Scan(&ownerCreate, &appUsage); err != nil {
		return fmt.Errorf("read privileges on schema public: %w", err)
	}
	if !ownerCreate {
		if _, err := conn.Exec(ctx, "GRANT USAGE, CREATE ON SCHEMA public TO "+pgx.Identifier{OwnerRole}.Sanitize()); err != nil {
			return fmt.Errorf("grant CREATE on schema public to %s: %w", OwnerRole, err)
		}
	}
	if !appUsage {
		if _, err := conn.Exec(ctx, "GRANT USAGE ON SCHEMA public TO "+pgx.Identifier{AppRole}.Sanitize()); err != nil {
			return fmt.Errorf("grant USAGE on schema public to %s: %w", AppRole, err)
		}
	}
	return adoptObjects(ctx, conn)
}

// adoptObjects hands OwnerRole the objects of schema public that another
// role owns, except those of extensions (PostGIS's own tables and views).
func adoptObjects(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `
		SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
		                      WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END || ' ' || c.oid::regclass::text
		FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace
		  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
		  AND c.relowner <> $1::regrole
		  -- identity sequences follow their table
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('e', 'i', 'a'))
		UNION ALL
		SELECT 'FUNCTION ' || p.oid::regprocedure::text
		FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace
		  AND p.proowner <> $1::regrole
		  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')`,
		OwnerRole)
	if err != nil {
		return fmt.Errorf("list objects to hand to %s: %w", OwnerRole, err)
	}
	objects, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list objects to hand to %s: %w", OwnerRole, err)
	}
	for _, o := range objects {
		// Names come from the catalog (regclass, regprocedure), never from input.
		if _, err := conn.Exec(ctx, "ALTER "+o+" OWNER TO "+pgx.Identifier{OwnerRole}.Sanitize()); err != nil {
			return fmt.Errorf("hand %s to %s: %w", o, OwnerRole, err)
		}
	}
	return nil
}

func isDuplicateRole(err error) bool {
	var pgErr *pgconn.PgError
	// 42710: duplicate_object; 23505: two sessions created it at once.
	return errors.As(err, &pgErr) && (pgErr.Code == "42710" || pgErr.Code == "23505")
}

// ServingRole names the role the store's connections act as and whether it
// may rewrite history: UPDATE, DELETE or TRUNCATE the audit log or a
// published notice (a superuser, the owner role, a login with its own
// grants). `serve` warns when it may: it should connect as AppRole.
func (s *Store) ServingRole(ctx context.Context) (role string, mayRewrite bool, err error) {
	err = s.Pool.QueryRow(ctx, `
		SELECT current_user::text, bool_or(has_table_privilege(t, p))
		FROM unnest(ARRAY['audit_log', 'notices', 'notice_zones']) AS t,
		     unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p`).Scan(&role, &mayRewrite)
	if err != nil {
		return "", false, fmt.Errorf("read the serving role's privileges: %w", err)
	}
	return role, mayRewrite, nil
}
