-- Entrances of this source not in the file (drawn ones are never touched).
WITH gone AS (
    SELECT e.id FROM compound_entrances e CROSS JOIN import_params p
    WHERE e.source = p.source
      AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(e.geom, sc.geom)))
      AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.layer = 'entrances' AND r.source_id = e.source_id)
), d AS (
    DELETE FROM compound_entrances e USING gone g WHERE e.id = g.id RETURNING e.id
)
SELECT (SELECT count(*) FROM d), 0
