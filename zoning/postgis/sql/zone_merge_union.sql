-- The union of the current geometries of the zones $1 (a merge's base).
SELECT ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(v.geom)), 3)))
FROM zones z
JOIN zone_versions v ON v.zone_id = z.id AND v.version = z.current_version
WHERE z.id = ANY ($1::bigint[]);
