-- Least privilege (issue 18 §3; docs/operations.md "Database roles").
--
-- Migrations run as riskzone_owner, which owns every object of the schema
-- (zoning/postgis.Migrate creates the roles and hands it the objects of older
-- releases before this runs). `serve` connects as riskzone_app: data
-- privileges only (SELECT, INSERT, UPDATE, DELETE on tables; USAGE, SELECT,
-- UPDATE on sequences, for nextval and the demo loader's setval; no TRUNCATE,
-- REFERENCES, TRIGGER or DDL), and on the append-only tables INSERT and
-- SELECT alone:
--
--   - audit_log: every write, who and why;
--   - notices, notice_zones: what was published. The app never updates a
--     published notice (a correction is a new notice referencing the old
--     one), so no column needs an UPDATE grant.
--
-- The triggers of migration 001 still refuse UPDATE, DELETE and TRUNCATE on
-- these tables for the owner too; the privileges make the database refuse
-- them to the serving role before any trigger runs (SQLSTATE 42501).

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, c.relkind
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relowner = current_user::regrole
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
    LOOP
        IF r.relkind = 'S' THEN
            EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %s TO riskzone_app', r.rel);
        ELSIF r.relkind IN ('v', 'm') THEN
            EXECUTE format('GRANT SELECT ON TABLE %s TO riskzone_app', r.rel);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO riskzone_app', r.rel);
        END IF;
    END LOOP;
END $$;

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, notices, notice_zones FROM riskzone_app;
-- The schema version is the migrations' business; the app only reads it
-- (readiness: is the schema current?).
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_version FROM riskzone_app;

-- Tables and sequences of later migrations get the same data privileges;
-- a later append-only table revokes UPDATE, DELETE and TRUNCATE itself.
ALTER DEFAULT PRIVILEGES FOR ROLE riskzone_owner IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO riskzone_app;
ALTER DEFAULT PRIVILEGES FOR ROLE riskzone_owner IN SCHEMA public
    GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO riskzone_app;
