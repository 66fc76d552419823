-- Barriers meeting a lon/lat box ($1..$4); the box filter uses barriers_geom.
SELECT b.id, ST_AsBinary(b.geom) AS geom, b.kind, coalesce(b.road_class, '') AS class
FROM barriers b
WHERE b.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
