WITH m AS (
    INSERT INTO barriers AS b (kind, road_class, name, geom, source, source_id, updated_at)
    SELECT r.kind, r.road_class, r.name, r.geom, p.source, r.source_id, now()
    FROM import_rows r CROSS JOIN import_params p
    WHERE r.layer = 'barriers' AND r.geom IS NOT NULL
    ON CONFLICT (source, source_id) DO UPDATE SET
        kind = excluded.kind,
        road_class = excluded.road_class,
        name = excluded.name,
        geom = excluded.geom,
        updated_at = now()
    WHERE (b.kind, b.road_class, b.name) IS DISTINCT FROM (excluded.kind, excluded.road_class, excluded.name)
       OR ST_AsEWKB(b.geom) <> ST_AsEWKB(excluded.geom)
    RETURNING b.id, (xmax = 0) AS inserted
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'barriers', id, inserted FROM m
