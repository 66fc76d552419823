-- Counties with the public zones (public_zone_versions, active) per level.
SELECT a.id, a.name, a.name_en, a.authority,
       coalesce(a.rule_set_id, (SELECT id FROM rule_sets WHERE is_default)),
       ST_XMin(a.geom), ST_YMin(a.geom), ST_XMax(a.geom), ST_YMax(a.geom),
       coalesce(p.level, ''), count(p.zone_id)::int, coalesce(sum(p.population), 0)::int
FROM admin_areas a
LEFT JOIN public_zone_versions p ON p.county_id = a.id AND p.status = 'active'
WHERE a.level = 'county' AND ($1::bigint = 0 OR a.id = $1)
GROUP BY a.id, p.level
ORDER BY a.name, a.id, p.level;
