-- Checks a drawn zone geometry: $1 GeoJSON (already checked in Go for its
-- type, positions and rings), $2 the county. Run it inside a savepoint:
-- ST_GeomFromGeoJSON raises on input it cannot read. The county test is
-- made only on a valid geometry in SRID 4326 (GEOS refuses the others) and
-- asks for interiors that meet: a drawing that only touches the county's
-- edge is outside it.
WITH g AS (
    SELECT ST_GeomFromGeoJSON($1::text) AS geom
)
SELECT GeometryType(g.geom),
       ST_SRID(g.geom),
       ST_IsEmpty(g.geom),
       ST_IsValid(g.geom),
       coalesce(ST_IsValidReason(g.geom), ''),
       CASE WHEN ST_SRID(g.geom) = 4326 AND NOT ST_IsEmpty(g.geom) AND ST_IsValid(g.geom)
            THEN EXISTS (SELECT 1 FROM admin_areas a
                         WHERE a.id = $2 AND ST_Intersects(a.geom, g.geom) AND ST_Relate(a.geom, g.geom, 'T********'))
            ELSE false
       END
FROM g;
