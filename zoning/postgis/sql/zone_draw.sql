-- The membership rule applied to a drawn zone geometry (zoning.MembershipShare):
-- $1 the drawing as GeoJSON (checked by zone_geom_check), $2 the county,
-- $3 the share. The drawing is clipped to the county. A building whose
-- footprint is at least $3 inside the drawing is a member, wholly; a building
-- the drawing touches less than that is excluded, wholly (zone_content then
-- cuts its footprint out). Shares are ratios of areas in lon/lat, which at the
-- size of a building equal the ratios in square metres.
WITH drawn AS (
    SELECT ST_Multi(ST_CollectionExtract(ST_Intersection(ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326), a.geom), 3)) AS geom
    FROM admin_areas a
    WHERE a.id = $2
),
shares AS (
    SELECT b.id,
           CASE WHEN ST_CoveredBy(b.geom, d.geom) THEN 1.0
                ELSE ST_Area(ST_Intersection(b.geom, d.geom)) / nullif(ST_Area(b.geom), 0)
           END AS share
    FROM drawn d
    JOIN buildings b ON ST_Intersects(b.geom, d.geom)
)
SELECT ST_AsEWKB(d.geom),
       coalesce((SELECT array_agg(s.id ORDER BY s.id) FROM shares s WHERE s.share >= $3), '{}'),
       coalesce((SELECT array_agg(s.id ORDER BY s.id) FROM shares s WHERE s.share < $3 AND s.share > 0), '{}')
FROM drawn d;
