-- The CAP polygons of zone versions whose rounded rings touch themselves
-- ($1 zone ids, $2 versions, pairwise): the geometry on the grid of 1e-7
-- degrees, made valid again, so that the rounded rings stay simple.
SELECT k.zone_id, ST_AsGeoJSON(ST_ExteriorRing(d.geom), 7)
FROM unnest($1::bigint[], $2::int[]) AS k (zone_id, version)
JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version
CROSS JOIN LATERAL ST_Dump(ST_ForcePolygonCCW(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(v.geom, 0.0000001)), 3))) AS d
ORDER BY k.zone_id, d.path;
