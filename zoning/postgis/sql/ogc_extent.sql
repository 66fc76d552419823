-- The extent of a collection: the bounding box of its geometries (lon/lat)
-- and its time span (the earliest start, the latest end, and whether some
-- feature is still open-ended). Parameters $1-$7 as in ogc_src_zones.sql.
WITH src AS (:source)
SELECT ST_XMin(e.box), ST_YMin(e.box), ST_XMax(e.box), ST_YMax(e.box), e.t_min, e.t_max, e.open_end
FROM (
    SELECT ST_Extent(s.geom) AS box, min(s.t0) AS t_min, max(coalesce(s.t1, s.t0)) AS t_max,
           coalesce(bool_or(s.t0 IS NOT NULL AND s.t1 IS NULL), false) AS open_end
    FROM src s
) e
