-- Every building a public address lookup can find, for the lookup's address
-- book: those with a compound (addr:place, else the named compound holding
-- it, as in notice_addresses), a street and house number, or a name; with
-- their address parts and a point inside the footprint.
SELECT b.id, b.county_id, coalesce(nullif(b.addr_district, ''), d.name, ''), b.addr_street,
       coalesce(nullif(b.addr_compound, ''), cp.name, ''), b.addr_number, b.name,
       ST_X(ST_PointOnSurface(b.geom)), ST_Y(ST_PointOnSurface(b.geom))
FROM buildings b
LEFT JOIN compounds cp ON cp.id = b.compound_id
LEFT JOIN admin_areas d ON d.id = b.county_id
WHERE b.addr_compound <> '' OR cp.name <> '' OR (b.addr_street <> '' AND b.addr_number <> '') OR b.name <> ''
ORDER BY b.id;
