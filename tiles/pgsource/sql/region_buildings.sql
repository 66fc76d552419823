-- Building footprints meeting a lon/lat box ($1..$4: xmin, ymin, xmax, ymax);
-- the box filter uses buildings_geom (GIST).
SELECT b.id, ST_AsBinary(b.geom) AS geom, b.kind
FROM buildings b
WHERE b.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
