-- The page of an OGC collection before a key ($12,$13), for "prev" links:
-- the last $14 rows before it, answered in key order. Parameters as in
-- ogc_page.sql.
WITH src AS (:source)
SELECT s.k1, s.k2, s.fid, :geojson, s.props::text
FROM (
    SELECT * FROM src s
    WHERE ($8::float8 IS NULL OR ST_Intersects(s.geom, ST_MakeEnvelope($8, $9::float8, $10::float8, $11::float8, 4326)))
      AND s.k1 <= $12::bigint AND (s.k1 < $12 OR s.k2 < $13::bigint)
    ORDER BY s.k1 DESC, s.k2 DESC
    LIMIT $14::bigint
) s
ORDER BY s.k1, s.k2
