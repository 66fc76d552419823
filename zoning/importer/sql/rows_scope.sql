-- Keep only the rows inside the scope (--county-relation): features that
-- intersect it; admin areas must share interior with it, so that neighbours
-- that only touch its boundary stay out.
DELETE FROM import_rows r
WHERE r.geom IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM import_scope sc
    WHERE ST_Intersects(r.geom, sc.geom)
      AND (r.layer <> 'admin' OR ST_Relate(r.geom, sc.geom, 'T********')))
