-- Places of this source not in the file; a place a trace points at is kept.
WITH gone AS (
    SELECT pl.id FROM places pl CROSS JOIN import_params p
    WHERE pl.source = p.source
      AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(pl.geom, sc.geom)))
      AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.layer = 'places' AND r.source_id = pl.source_id)
), kept AS (
    SELECT g.id FROM gone g WHERE EXISTS (SELECT 1 FROM traces tr WHERE tr.place_id = g.id)
), d AS (
    DELETE FROM places pl USING gone g
    WHERE pl.id = g.id AND g.id NOT IN (SELECT id FROM kept)
    RETURNING pl.id
)
SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM kept)
