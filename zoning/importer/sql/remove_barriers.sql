WITH d AS (
    DELETE FROM barriers b USING import_params p
    WHERE b.source = p.source
      AND (NOT p.scoped OR EXISTS (SELECT 1 FROM import_scope sc WHERE ST_Intersects(b.geom, sc.geom)))
      AND NOT EXISTS (SELECT 1 FROM import_rows r WHERE r.layer = 'barriers' AND r.source_id = b.source_id)
    RETURNING b.id
)
SELECT count(*), 0::bigint FROM d
