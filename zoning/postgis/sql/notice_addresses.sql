-- The addresses of zone versions ($1 zone ids, $2 versions, pairwise): each
-- whole member building, and each member unit of a building that is not
-- wholly in the zone. District and street names come from the address
-- parts, with the admin areas' English names. The compound is the
-- building's addr:place, else the name of the compound (named residential
-- area) holding it; source and source_id name a building without number or
-- name (zoning.SourceRef).
WITH vs AS (
    SELECT v.zone_id, v.building_ids, v.unit_ids
    FROM unnest($1::bigint[], $2::int[]) AS k (zone_id, version)
    JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version
), members AS (
    SELECT vs.zone_id, m.building_id, NULL::bigint AS unit_id
    FROM vs CROSS JOIN LATERAL unnest(vs.building_ids) AS m (building_id)
  UNION ALL
    SELECT vs.zone_id, u.building_id, u.id
    FROM vs
    CROSS JOIN LATERAL unnest(vs.unit_ids) AS m (unit_id)
    JOIN units u ON u.id = m.unit_id
    WHERE NOT (u.building_id = ANY (vs.building_ids))
)
SELECT m.zone_id, b.id,
       coalesce(nullif(b.addr_district, ''), d.name, ''), coalesce(d.name_en, ''),
       coalesce(nullif(b.addr_street, ''), st.name, ''), coalesce(st.name_en, ''),
       coalesce(nullif(b.addr_compound, ''), cp.name, ''), b.addr_number, b.name,
       coalesce(u.number, 0), coalesce(u.name, ''), b.source, coalesce(b.source_id, '')
FROM members m
JOIN buildings b ON b.id = m.building_id
LEFT JOIN units u ON u.id = m.unit_id
LEFT JOIN compounds cp ON cp.id = b.compound_id
LEFT JOIN admin_areas d ON d.id = b.county_id
LEFT JOIN admin_areas c ON c.id = b.community_id
LEFT JOIN admin_areas st ON st.id = c.parent_id AND st.level = 'street'
ORDER BY m.zone_id, b.id, u.number;
