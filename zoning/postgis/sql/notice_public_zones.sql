-- Public zones (their latest published version, public_zone_versions):
-- $1 county (0: all), $2 zone (0: all), $3 true for active zones only.
SELECT p.zone_id, p.version, p.county_id, a.name, a.name_en, p.name, p.level, p.status, p.population,
       p.clock_start, p.clock_start + r.clean_days,
       (SELECT min(tl.valid_from) FROM public_zone_timeline tl WHERE tl.zone_id = p.zone_id),
       ST_XMin(p.geom), ST_YMin(p.geom), ST_XMax(p.geom), ST_YMax(p.geom),
       ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), 15)
FROM public_zone_versions p
JOIN admin_areas a ON a.id = p.county_id
JOIN rule_sets r ON r.id = p.rule_set_id
WHERE ($1::bigint = 0 OR p.county_id = $1)
  AND ($2::bigint = 0 OR p.zone_id = $2)
  AND (NOT $3 OR p.status = 'active')
ORDER BY p.county_id, p.zone_id;
