-- Zone versions as a notice describes them: $1 zone ids, $2 versions
-- (pairwise). reason is the written reason of the version's change (an
-- override lift's is announced with it).
SELECT v.zone_id, v.version, v.name, v.level, v.status, v.change, v.population, v.clock_start,
       v.clock_start + r.clean_days, v.reason
FROM unnest($1::bigint[], $2::int[]) AS k (zone_id, version)
JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version
JOIN rule_sets r ON r.id = v.rule_set_id
ORDER BY v.zone_id;
