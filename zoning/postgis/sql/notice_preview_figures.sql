-- The figures of zone versions for the publisher's preview ($1 zone ids,
-- $2 versions, pairwise): population, staff, and whether the population is
-- an estimate (some member's population_derived, as zone versions read).
SELECT v.zone_id, v.version, v.population, v.staff_required,
       EXISTS (SELECT 1 FROM buildings b WHERE b.id = ANY (v.building_ids) AND b.population_derived)
       OR EXISTS (SELECT 1 FROM units u WHERE u.id = ANY (v.unit_ids) AND u.population_derived)
FROM unnest($1::bigint[], $2::int[]) AS k (zone_id, version)
JOIN zone_versions v ON v.zone_id = k.zone_id AND v.version = k.version
ORDER BY v.zone_id, v.version;
