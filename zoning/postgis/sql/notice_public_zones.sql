-- Public zones (their latest published version, public_zone_versions):
-- $1 county (0: all), $2 zone (0: all), $3 true for active zones only. The
-- last column: the population is an estimate (some member's
-- population_derived), as zone versions read it.
SELECT p.zone_id, p.version, p.county_id, a.name, a.name_en, p.name, p.level, p.status, p.population,
       p.clock_start, p.clock_start + r.clean_days,
       (SELECT min(tl.valid_from) FROM public_zone_timeline tl WHERE tl.zone_id = p.zone_id),
       ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom),
       ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), 15),
       EXISTS (SELECT 1 FROM buildings b WHERE b.id = ANY (p.building_ids) AND b.population_derived)
       OR EXISTS (SELECT 1 FROM units u WHERE u.id = ANY (p.unit_ids) AND u.population_derived)
FROM public_zone_versions p
JOIN admin_areas a ON a.id = p.county_id
JOIN rule_sets r ON r.id = p.rule_set_id
WHERE ($1::bigint = 0 OR p.county_id = $1)
  AND ($2::bigint = 0 OR p.zone_id = $2)
  AND (NOT $3 OR p.status = 'active')
ORDER BY p.county_id, p.zone_id;
