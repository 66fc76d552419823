-- After admin areas changed: the community of every compound.
WITH want AS (
    SELECT c.id,
           (SELECT a.id FROM admin_areas a WHERE a.level = 'community' AND ST_Intersects(a.geom, ST_PointOnSurface(c.geom))
            ORDER BY a.id LIMIT 1) AS community_id
    FROM compounds c
)
UPDATE compounds c SET community_id = w.community_id
FROM want w
WHERE c.id = w.id AND c.community_id IS DISTINCT FROM w.community_id
