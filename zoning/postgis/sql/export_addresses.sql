-- The address CSV (SPEC §5): every address of every published active zone
-- (public_zone_versions): each member building, and each member unit of a
-- building not wholly in the zone, with a point on the building (lon/lat,
-- 7 decimals) and ISO dates. $1 county (0: all), $2 level ('' any). The
-- compound is addr:place, else the name of the compound holding the
-- building (as in notice_addresses); the building's name and source id
-- follow, for buildings without a number.
WITH vs AS (
    SELECT pv.zone_id, pv.version, pv.county_id, pv.level, pv.name, pv.building_ids, pv.unit_ids,
           (pv.clock_start + r.clean_days) AS earliest,
           (SELECT min(tl.valid_from) FROM public_zone_timeline tl WHERE tl.zone_id = pv.zone_id) AS since
    FROM public_zone_versions pv
    JOIN rule_sets r ON r.id = pv.rule_set_id
    WHERE pv.status = 'active'
      AND ($1::bigint = 0 OR pv.county_id = $1)
      AND ($2::text = '' OR pv.level = $2)
), members AS (
    SELECT vs.zone_id, m.building_id, NULL::bigint AS unit_id FROM vs CROSS JOIN LATERAL unnest(vs.building_ids) AS m (building_id)
  UNION ALL
    SELECT vs.zone_id, u.building_id, u.id FROM vs CROSS JOIN LATERAL unnest(vs.unit_ids) AS m (unit_id)
    JOIN units u ON u.id = m.unit_id
    WHERE NOT (u.building_id = ANY (vs.building_ids))
)
SELECT vs.zone_id, vs.version, vs.level, vs.name, b.id, m.unit_id,
       coalesce(nullif(b.addr_district, ''), d.name, ''), coalesce(nullif(b.addr_street, ''), st.name, ''),
       coalesce(nullif(b.addr_community, ''), cm.name, ''), coalesce(nullif(b.addr_compound, ''), cp.name, ''),
       b.addr_number, coalesce(u.name, ''), b.name, b.source, coalesce(b.source_id, ''),
       round(ST_X(ST_PointOnSurface(b.geom))::numeric, 7)::text, round(ST_Y(ST_PointOnSurface(b.geom))::numeric, 7)::text,
       vs.since, vs.earliest
FROM members m
JOIN vs ON vs.zone_id = m.zone_id
JOIN buildings b ON b.id = m.building_id
LEFT JOIN units u ON u.id = m.unit_id
LEFT JOIN compounds cp ON cp.id = b.compound_id
LEFT JOIN admin_areas d ON d.id = b.county_id
LEFT JOIN admin_areas cm ON cm.id = b.community_id
LEFT JOIN admin_areas st ON st.id = cm.parent_id AND st.level = 'street'
ORDER BY vs.zone_id, b.id, u.number NULLS FIRST
