-- Buildings of this source (in the scope) that are not in the file. A
-- building a case or a trace points at is kept and counted as retained;
-- its units go with it (ON DELETE CASCADE) and are counted too.
WITH gone AS (
    SELECT b.id FROM buildings b CROSS JOIN import_params p
    WHERE b.source = p.source
      AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(b.geom, sc.geom)))
      AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.layer = 'buildings' AND r.source_id = b.source_id)
), kept AS (
    SELECT g.id FROM gone g
    WHERE EXISTS (SELECT 1 FROM cases c WHERE c.residence_building_id = g.id)
       OR EXISTS (SELECT 1 FROM traces tr WHERE tr.building_id = g.id)
       OR EXISTS (SELECT 1 FROM units u JOIN cases c ON c.residence_unit_id = u.id WHERE u.building_id = g.id)
), d AS (
    DELETE FROM buildings b USING gone g
    WHERE b.id = g.id AND g.id NOT IN (SELECT id FROM kept)
    RETURNING b.id
)
SELECT (SELECT count(*) FROM d),
       (SELECT count(*) FROM kept),
       (SELECT count(*) FROM units u WHERE u.building_id IN (SELECT id FROM d))
