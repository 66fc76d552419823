-- The screening rounds of zone $1 by date. population_estimated: the round
-- recorded the population of the zone version then in force, and that
-- population is an estimate (some member's population_derived).
SELECT s.id, s.zone_id, s.round_date, s.population, s.tested, s.negatives, s.positives, s.recorded_by, s.recorded_at,
       coalesce(s.zone_version, 0), coalesce(s.zone_population, 0), coalesce(s.partial_reason, ''),
       EXISTS (SELECT 1 FROM zone_versions v
               WHERE v.zone_id = s.zone_id AND v.population = s.population
                 AND v.valid_from <= s.recorded_at AND (v.valid_to IS NULL OR v.valid_to > s.recorded_at)
                 AND (EXISTS (SELECT 1 FROM buildings b WHERE b.id = ANY (v.building_ids) AND b.population_derived)
                      OR EXISTS (SELECT 1 FROM units u WHERE u.id = ANY (v.unit_ids) AND u.population_derived)))
FROM screenings s
WHERE s.zone_id = $1
ORDER BY s.round_date, s.id
