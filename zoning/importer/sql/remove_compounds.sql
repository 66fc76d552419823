-- Compounds of this source (in the scope) that are not in the file.
SELECT coalesce(array_agg(c.id ORDER BY c.id), '{}'), 0::bigint
FROM compounds c CROSS JOIN import_params p
WHERE c.source = p.source
  AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(c.geom, sc.geom)))
  AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.layer = 'compounds' AND r.source_id = c.source_id)
