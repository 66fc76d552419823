-- Administrative areas meeting a lon/lat box ($1..$4); uses admin_areas_geom.
SELECT a.id, ST_AsBinary(a.geom) AS geom, a.level, a.name
FROM admin_areas a
WHERE a.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
