-- Loaded units of this source's buildings (in the scope) that are not in the
-- file, and derived units of buildings that now have loaded ones. A unit a
-- case lives in is kept and counted as retained.
WITH present AS (
    SELECT DISTINCT b.id FROM import_rows r JOIN import_params p ON true
    JOIN buildings b ON b.source = p.source AND b.source_id = r.building_ref
    WHERE r.layer = 'units' AND r.status <> 'skipped'
), gone AS (
    SELECT u.id FROM units u JOIN buildings b ON b.id = u.building_id CROSS JOIN import_params p
    WHERE b.source = p.source
      AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(b.geom, sc.geom)))
      AND ((NOT u.derived
            AND NOT EXISTS (SELECT 1 FROM import_rows r
                            WHERE r.layer = 'units' AND r.building_ref = b.source_id AND r.number = u.number))
           OR (u.derived AND b.id IN (SELECT id FROM present)))
), kept AS (
    SELECT g.id FROM gone g WHERE EXISTS (SELECT 1 FROM cases c WHERE c.residence_unit_id = g.id)
), d AS (
    DELETE FROM units u USING gone g
    WHERE u.id = g.id AND g.id NOT IN (SELECT id FROM kept)
    RETURNING u.id
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM kept)
