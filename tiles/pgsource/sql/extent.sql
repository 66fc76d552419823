-- The lon/lat box of the data: the counties, else every administrative
-- area, else the buildings. NULLs when there is nothing.
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box)
FROM (
    SELECT coalesce(
        (SELECT ST_Extent(geom) FROM admin_areas WHERE level = 'county'),
        (SELECT ST_Extent(geom) FROM admin_areas),
        (SELECT ST_Extent(geom) FROM buildings)
    )::geometry AS box
) e
