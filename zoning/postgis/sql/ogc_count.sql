-- numberMatched: the features of a collection that match the filters
-- ($1-$7 of the source, $8-$11 the bbox as in ogc_page.sql).
WITH src AS (:source)
SELECT count(*)
FROM src s
WHERE ($8::float8 IS NULL OR ST_Intersects(s.geom, ST_MakeEnvelope($8, $9::float8, $10::float8, $11::float8, 4326)))
