-- Proposals awaiting a decision meeting a lon/lat box ($1..$4); uses
-- proposals_geom. Restricted layer.
SELECT p.id, ST_AsBinary(p.geom) AS geom, p.level, p.run_id AS run, p.population::bigint AS population,
       p.staff_required::bigint AS staff
FROM proposals p
WHERE p.status = 'proposed'
  AND p.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
