-- After compounds changed: the compound of every imported entrance.
WITH want AS (
    SELECT e.id,
           (SELECT c.id FROM compounds c
            WHERE ST_DWithin(ST_Boundary(c.geom)::geography, e.geom::geography, 20)
            ORDER BY ST_Distance(ST_Boundary(c.geom)::geography, e.geom::geography), c.id LIMIT 1) AS compound_id
    FROM compound_entrances e WHERE e.source <> 'drawn'
)
UPDATE compound_entrances e SET compound_id = w.compound_id
FROM want w
WHERE e.id = w.id AND e.compound_id IS DISTINCT FROM w.compound_id
