-- The parts of a split, clipped to the zone: $1 the zone's geometry (EWKB),
-- $2 the parts as a JSON array of GeoJSON geometries (each checked by
-- zone_geom_check). Per part: its clipped geometry, its area and the largest
-- overlap with a later part (parts must not overlap).
WITH zone AS (
    SELECT ST_GeomFromEWKB($1) AS geom
),
parts AS (
    SELECT p.ord::int AS part,
           ST_Multi(ST_CollectionExtract(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON(p.g::text), 4326), zone.geom), 3)) AS geom
    FROM zone, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS p (g, ord)
)
SELECT p.part,
       ST_AsEWKB(p.geom),
       ST_Area(p.geom::geography),
       coalesce(o.part, 0),
       coalesce(o.area, 0)
FROM parts p
LEFT JOIN LATERAL (
    SELECT q.part, ST_Area(ST_Intersection(p.geom, q.geom)::geography) AS area
    FROM parts q
    WHERE q.part > p.part AND ST_Intersects(p.geom, q.geom)
    ORDER BY 2 DESC
    LIMIT 1
) o ON true
ORDER BY p.part;
