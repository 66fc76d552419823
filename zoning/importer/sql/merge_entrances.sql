-- Entrances and gates of the file, each given to the compound whose outline
-- is nearest within 20 m (NULL: none). An entrance=* node on a building's
-- outline is that building's door, not a compound's, and is left out. A
-- re-import keeps an entrance's state and staff: those are the command
-- centre's, not the map's.
WITH src AS (
    SELECT r.source_id, r.name, coalesce(r.kind, 'entrance') AS kind, r.geom,
           (SELECT c.id FROM compounds c
            WHERE ST_DWithin(ST_Boundary(c.geom)::geography, r.geom::geography, 20)
            ORDER BY ST_Distance(ST_Boundary(c.geom)::geography, r.geom::geography), c.id LIMIT 1) AS compound_id
    FROM import_rows r
    WHERE r.layer = 'entrances' AND r.geom IS NOT NULL
      AND NOT (coalesce(r.kind, 'entrance') = 'entrance'
               AND EXISTS (SELECT 1 FROM buildings b WHERE ST_DWithin(b.geom::geography, r.geom::geography, 1)))
), m AS (
    INSERT INTO compound_entrances AS e (compound_id, name, kind, geom, source, source_id)
    SELECT s.compound_id, s.name, s.kind, s.geom, p.source, s.source_id
    FROM src s CROSS JOIN import_params p
    ON CONFLICT (source, source_id) DO UPDATE SET
        compound_id = excluded.compound_id,
        name = excluded.name,
        kind = excluded.kind,
        geom = excluded.geom
    WHERE (e.compound_id, e.name, e.kind) IS DISTINCT FROM (excluded.compound_id, excluded.name, excluded.kind)
       OR ST_AsEWKB(e.geom) <> ST_AsEWKB(excluded.geom)
    RETURNING e.id, (xmax = 0) AS inserted
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'entrances', id, inserted FROM m
