-- The CAP polygons of zone versions ($1 zone ids, $2 versions, pairwise):
-- the exterior ring of every polygon (CAP polygons have no holes),
-- counter-clockwise and written with 7 decimals exactly as the public
-- GeoJSON writes the zone (ST_AsGeoJSON(ST_ForcePolygonCCW(geom), 7)), so
-- that a CAP area is the public map's polygon. A ring that rounding makes
-- touch itself is taken from notice_cap_rings_valid.sql instead.
SELECT k.zone_id, ST_AsGeoJSON(ST_ExteriorRing(d.geom), 7)
FROM unnest($1::bigint[], $2::int[]) AS k (zone_id, version)
JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version
CROSS JOIN LATERAL ST_Dump(ST_ForcePolygonCCW(v.geom)) AS d
ORDER BY k.zone_id, d.path;
