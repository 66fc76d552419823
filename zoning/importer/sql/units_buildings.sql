-- Buildings that now have loaded units: their units are no longer derived,
-- and a derived building population becomes the sum of its units' when they
-- all have an observed one.
WITH present AS (
    SELECT DISTINCT b.id FROM import_rows r JOIN import_params p ON true
    JOIN buildings b ON b.source = p.source AND b.source_id = r.building_ref
    WHERE r.layer = 'units' AND r.status <> 'skipped'
), sums AS (
    SELECT u.building_id, sum(u.population)::int AS population, bool_and(NOT u.population_derived) AS observed
    FROM units u WHERE u.building_id IN (SELECT id FROM present)
    GROUP BY u.building_id
)
UPDATE buildings b
SET units_derived = false,
    population = CASE WHEN b.population_derived AND s.observed THEN s.population ELSE b.population END,
    population_derived = b.population_derived AND NOT s.observed,
    updated_at = now()
FROM sums s
WHERE b.id = s.building_id
  AND (b.units_derived
       OR (b.population_derived AND s.observed))
