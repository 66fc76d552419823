-- The national lookup list (SPEC §5): one row per published active zone
-- (public_zone_versions), with its province, city and county, the zone
-- name as the area name, the communities its buildings lie in, counts and
-- the time its version took effect. $1 county (0: all), $2 level ('' any).
SELECT pv.zone_id, pv.version, coalesce(prov.name, ''), coalesce(city.name, ''), cty.name, pv.name, pv.level,
       coalesce((SELECT array_agg(DISTINCT cm.name ORDER BY cm.name)
                 FROM buildings b JOIN admin_areas cm ON cm.id = b.community_id
                 WHERE b.id = ANY (pv.building_ids)
                    OR b.id IN (SELECT u.building_id FROM units u WHERE u.id = ANY (pv.unit_ids))), '{}'),
       cardinality(pv.building_ids), cardinality(pv.unit_ids), pv.population,
       (pv.clock_start + r.clean_days),
       (SELECT max(tl.valid_from) FROM public_zone_timeline tl WHERE tl.zone_id = pv.zone_id AND tl.version = pv.version)
FROM public_zone_versions pv
JOIN admin_areas cty ON cty.id = pv.county_id
LEFT JOIN admin_areas city ON city.id = cty.parent_id AND city.level = 'city'
LEFT JOIN admin_areas prov ON prov.id = coalesce(city.parent_id, cty.parent_id) AND prov.level = 'province'
JOIN rule_sets r ON r.id = pv.rule_set_id
WHERE pv.status = 'active'
  AND ($1::bigint = 0 OR pv.county_id = $1)
  AND ($2::text = '' OR pv.level = $2)
ORDER BY pv.county_id, pv.zone_id
