-- After buildings changed: the building of every place.
WITH want AS (
    SELECT pl.id,
           (SELECT b.id FROM buildings b WHERE ST_Intersects(b.geom, pl.geom) ORDER BY b.id LIMIT 1) AS building_id
    FROM places pl
)
UPDATE places pl SET building_id = w.building_id
FROM want w
WHERE pl.id = w.id AND pl.building_id IS DISTINCT FROM w.building_id
