-- Areas (m², on the spheroid) of version $3 of zone $1 outside version $2
-- (added) and of $2 outside $3 (removed).
SELECT ST_Area(ST_Difference(b.geom, a.geom)::geography),
       ST_Area(ST_Difference(a.geom, b.geom)::geography)
FROM zone_versions a
JOIN zone_versions b ON b.zone_id = a.zone_id AND b.version = $3
WHERE a.zone_id = $1 AND a.version = $2;
