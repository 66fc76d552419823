-- Derived units beyond the new count of their building, and derived units of
-- buildings of this import that are no longer residential. Units a case
-- lives in are kept (and counted as retained).
WITH gone AS (
    -- Buildings added by this import have no older units to trim.
    SELECT u.id FROM units u JOIN import_derive d ON d.id = u.building_id AND NOT d.new
    WHERE u.derived AND u.number > d.n
    UNION ALL
    SELECT u.id FROM units u
    JOIN import_touched t ON t.layer = 'buildings' AND t.id = u.building_id AND NOT t.inserted
    JOIN buildings b ON b.id = u.building_id
    WHERE u.derived AND b.kind <> 'residential'
), kept AS (
    SELECT g.id FROM gone g WHERE EXISTS (SELECT 1 FROM cases c WHERE c.residence_unit_id = g.id)
), d AS (
    DELETE FROM units u USING gone g
    WHERE u.id = g.id AND NOT EXISTS (SELECT 1 FROM kept k WHERE k.id = g.id)
    RETURNING u.id
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM kept)
