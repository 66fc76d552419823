-- Collection "buildings" (public): building footprints with their address
-- parts and resident population; with p.zone, the buildings of that zone's
-- public version (member buildings and the buildings of member units).
-- Columns as in ogc_src_zones.sql; buildings are timeless.
SELECT b.id AS k1, 0::bigint AS k2, b.id::text AS fid, b.geom, NULL::timestamptz AS t0, NULL::timestamptz AS t1,
       json_build_object(
           'kind', b.kind, 'name', b.name, 'district', b.addr_district, 'street', b.addr_street,
           'community', b.addr_community, 'compound', b.addr_compound, 'number', b.addr_number,
           'floors', b.floors, 'population', b.population, 'county_id', b.county_id,
           'community_id', b.community_id, 'compound_id', b.compound_id
       ) AS props
FROM :params, buildings b
WHERE (p.county = 0 OR b.county_id = p.county)
  AND (p.zone = 0 OR b.id = ANY ((
        SELECT pv.building_ids || ARRAY(SELECT u.building_id FROM units u WHERE u.id = ANY (pv.unit_ids))
        FROM public_zone_versions pv WHERE pv.zone_id = p.zone)::bigint[]))
