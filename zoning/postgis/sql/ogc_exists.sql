-- Whether a matching feature lies beyond a page: :keyset is the "after"
-- or "before" condition on ($12,$13). Parameters as in ogc_page.sql.
WITH src AS (:source)
SELECT EXISTS (
    SELECT 1 FROM src s
    WHERE ($8::float8 IS NULL OR ST_Intersects(s.geom, ST_MakeEnvelope($8, $9::float8, $10::float8, $11::float8, 4326)))
      AND :keyset
)
