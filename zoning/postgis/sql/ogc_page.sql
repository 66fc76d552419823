-- One page of an OGC collection or export, in key order. :source is the
-- collection's source (ogc_src_*.sql, parameters $1-$7), :geojson the
-- geometry encoding of the output CRS, :keyset one of the key conditions
-- (after $12,$13; exactly $12,$13). $8-$11: bbox (lon/lat, all NULL for
-- none); $14: the page size (NULL: everything).
WITH src AS (:source)
SELECT s.k1, s.k2, s.fid, :geojson, s.props::text
FROM src s
WHERE ($8::float8 IS NULL OR ST_Intersects(s.geom, ST_MakeEnvelope($8, $9::float8, $10::float8, $11::float8, 4326)))
  AND :keyset
ORDER BY s.k1, s.k2
LIMIT $14::bigint
