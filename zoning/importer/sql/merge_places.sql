-- Places of the file, each placed in the building that holds it.
WITH src AS (
    SELECT r.source_id, r.name, coalesce(r.kind, 'other') AS kind,
           coalesce(r.enclosed, false) AS enclosed, coalesce(r.poorly_ventilated, false) AS poorly_ventilated, r.geom,
           (SELECT b.id FROM buildings b WHERE ST_Intersects(b.geom, r.geom) ORDER BY b.id LIMIT 1) AS building_id
    FROM import_rows r
    WHERE r.layer = 'places' AND r.geom IS NOT NULL
), m AS (
    INSERT INTO places AS pl (name, kind, building_id, enclosed, poorly_ventilated, geom, source, source_id)
    SELECT s.name, s.kind, s.building_id, s.enclosed, s.poorly_ventilated, s.geom, p.source, s.source_id
    FROM src s CROSS JOIN import_params p
    ON CONFLICT (source, source_id) DO UPDATE SET
        name = excluded.name,
        kind = excluded.kind,
        building_id = excluded.building_id,
        enclosed = excluded.enclosed,
        poorly_ventilated = excluded.poorly_ventilated,
        geom = excluded.geom
    WHERE (pl.name, pl.kind, pl.building_id, pl.enclosed, pl.poorly_ventilated)
          IS DISTINCT FROM (excluded.name, excluded.kind, excluded.building_id, excluded.enclosed, excluded.poorly_ventilated)
       OR ST_AsEWKB(pl.geom) <> ST_AsEWKB(excluded.geom)
    RETURNING pl.id, (xmax = 0) AS inserted
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'places', id, inserted FROM m
