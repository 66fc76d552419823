-- Compounds of the file, each placed in the community that holds a point of it.
WITH src AS (
    SELECT r.source_id, r.name, r.geom,
           (SELECT a.id FROM admin_areas a
            WHERE a.level = 'community' AND ST_Intersects(a.geom, ST_PointOnSurface(r.geom))
            ORDER BY a.id LIMIT 1) AS community_id
    FROM import_rows r
    WHERE r.layer = 'compounds' AND r.geom IS NOT NULL
), m AS (
    INSERT INTO compounds AS c (community_id, name, geom, source, source_id)
    SELECT s.community_id, s.name, s.geom, p.source, s.source_id
    FROM src s CROSS JOIN import_params p
    ON CONFLICT (source, source_id) DO UPDATE SET
        community_id = excluded.community_id,
        name = excluded.name,
        geom = excluded.geom
    WHERE (c.community_id, c.name) IS DISTINCT FROM (excluded.community_id, excluded.name)
       OR ST_AsEWKB(c.geom) <> ST_AsEWKB(excluded.geom)
    RETURNING c.id, (xmax = 0) AS inserted
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'compounds', id, inserted FROM m
