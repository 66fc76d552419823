-- Enlargement levels of spread clusters (pairs of $1 cluster id and $2
-- residence building id), one row per cluster and level:
--   building      the seeded buildings themselves (their residents are the
--                 base of the ratio bound);
--   compound      the smallest compound holding each seeded building;
--   fine_block    the block of set $3 (fine barrier classes) holding it;
--   coarse_block  the block of set $4 (coarse classes) holding it;
--   nearby        the bounded fallback: the seeded buildings and the
--                 buildings of county $5 within $6 metres of one of them
--                 whose shortest line to it crosses no barrier of kinds $7
--                 (roads only of classes $8).
-- A seeded building is held by an area when its interior point lies in it;
-- outside counts the seeded buildings no area of the level holds. Residents
-- of a level are those of the buildings whose interior point lies in the
-- union of its areas; edge_share the largest county-edge share of its blocks.
WITH seed AS (
    SELECT x.cluster, b.id AS building_id, b.geom, ST_PointOnSurface(b.geom) AS pt, b.population
    FROM unnest($1::bigint[], $2::bigint[]) AS x(cluster, building)
    JOIN buildings b ON b.id = x.building
),
hit AS (
    SELECT s.cluster, 'compound' AS level, s.building_id, c.id AS area_id
    FROM seed s LEFT JOIN LATERAL (
        SELECT c.id FROM compounds c WHERE ST_Intersects(c.geom, s.pt) ORDER BY ST_Area(c.geom), c.id LIMIT 1) c ON true
    UNION ALL
    SELECT s.cluster, 'fine_block', s.building_id, bl.id
    FROM seed s LEFT JOIN LATERAL (
        -- set_id + 0 keeps the planner on the spatial index.
        SELECT bl.id FROM barrier_blocks bl WHERE ST_Intersects(bl.geom, s.pt) AND bl.set_id + 0 = $3 ORDER BY bl.id LIMIT 1) bl ON true
    UNION ALL
    SELECT s.cluster, 'coarse_block', s.building_id, bl.id
    FROM seed s LEFT JOIN LATERAL (
        SELECT bl.id FROM barrier_blocks bl WHERE ST_Intersects(bl.geom, s.pt) AND bl.set_id + 0 = $4 ORDER BY bl.id LIMIT 1) bl ON true
),
lvl AS (
    SELECT cluster, level,
           coalesce(array_agg(DISTINCT area_id ORDER BY area_id) FILTER (WHERE area_id IS NOT NULL), '{}') AS ids,
           count(*) FILTER (WHERE area_id IS NULL) AS outside
    FROM hit GROUP BY cluster, level
),
-- Blocks are disjoint: a block level's residents and area are the sums over
-- its distinct blocks, each measured once however many clusters share it.
blk AS (
    SELECT bl.id, ST_Area(bl.geom::geography) AS area, bl.edge_share,
           (SELECT coalesce(sum(b.population), 0) FROM buildings b
            WHERE ST_Intersects(b.geom, bl.geom) AND ST_Intersects(bl.geom, ST_PointOnSurface(b.geom))) AS residents
    FROM barrier_blocks bl
    WHERE bl.id IN (SELECT area_id FROM hit WHERE level <> 'compound')
),
geo AS (
    SELECT l.cluster, l.level, l.ids, l.outside, m.residents, m.area, m.edge_share
    FROM lvl l
    CROSS JOIN LATERAL (SELECT sum(k.residents) AS residents, sum(k.area) AS area, max(k.edge_share) AS edge_share
                        FROM blk k WHERE k.id = ANY (l.ids)) m
    WHERE l.level <> 'compound'
    UNION ALL
    -- Compounds may nest or overlap: measure their union.
    SELECT l.cluster, l.level, l.ids, l.outside, r.residents, ST_Area(u.geom::geography), 0
    FROM lvl l
    CROSS JOIN LATERAL (SELECT ST_Union(c.geom) AS geom FROM compounds c WHERE c.id = ANY (l.ids)) u
    LEFT JOIN LATERAL (
        SELECT sum(b.population) AS residents FROM buildings b
        WHERE ST_Intersects(b.geom, u.geom) AND ST_Intersects(u.geom, ST_PointOnSurface(b.geom))
    ) r ON true
    WHERE l.level = 'compound'
),
near AS (
    SELECT DISTINCT s.cluster, b.id, b.population, b.geom
    FROM seed s
    JOIN buildings b ON ST_DWithin(b.geom, s.geom, $6::float8 / (111320 * cos(radians(least(89, abs(ST_Y(s.pt)))))))
    WHERE (b.id = s.building_id OR b.county_id = $5)
      AND ST_DWithin(b.geom::geography, s.geom::geography, $6::float8)
      AND (b.id = s.building_id OR NOT EXISTS (
          SELECT 1 FROM barriers x
          WHERE x.kind = ANY ($7::text[]) AND (x.kind <> 'road' OR x.road_class = ANY ($8::text[]))
            AND ST_Intersects(x.geom, ST_ShortestLine(s.geom, b.geom))))
)
SELECT g.cluster, g.level, g.ids, g.outside::int, coalesce(g.residents, 0)::int,
       coalesce(g.area, 0), coalesce(g.edge_share, 0), '{}'::bigint[]
FROM geo g
UNION ALL
SELECT cluster, 'nearby', '{}', 0, coalesce(sum(population), 0)::int, coalesce(ST_Area(ST_Union(geom)::geography), 0), 0,
       array_agg(id ORDER BY id)
FROM near GROUP BY cluster
UNION ALL
SELECT cluster, 'building', '{}', 0, coalesce(sum(population), 0)::int, coalesce(ST_Area(ST_Union(geom)::geography), 0), 0,
       array_agg(DISTINCT building_id ORDER BY building_id)
FROM seed GROUP BY cluster
ORDER BY 1, 2
