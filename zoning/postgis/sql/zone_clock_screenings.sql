-- The latest screening round with positive results of zone $1 or of the
-- zones it came from (split parts and merges keep parent_zone_ids): a
-- positive found in a round of the parent cannot be placed in one part, so
-- it counts for every part. No row: none.
WITH RECURSIVE lineage (id) AS (
    SELECT $1::bigint
    UNION
    SELECT p.id
    FROM lineage l
    JOIN zones z ON z.id = l.id
    CROSS JOIN LATERAL unnest(z.parent_zone_ids) AS p (id)
)
SELECT s.id, s.round_date, s.positives
FROM screenings s
WHERE s.zone_id IN (SELECT id FROM lineage)
  AND s.positives > 0
ORDER BY s.round_date DESC, s.id DESC
LIMIT 1;
