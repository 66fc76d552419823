-- Every building with a compound name, for the public address lookup: its
-- address parts and a point inside its footprint.
SELECT b.id, b.county_id, b.addr_district, b.addr_street, b.addr_compound, b.addr_number, b.name,
       ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom))
FROM buildings b
WHERE b.addr_compound <> ''
ORDER BY b.addr_compound, b.id;
