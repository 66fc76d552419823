-- Whether version $2 of zone $1 holds an estimated population (some
-- member's population_derived), as zone versions read it.
SELECT EXISTS (SELECT 1 FROM buildings b WHERE b.id = ANY (v.building_ids) AND b.population_derived)
       OR EXISTS (SELECT 1 FROM units u WHERE u.id = ANY (v.unit_ids) AND u.population_derived)
FROM zone_versions v
WHERE v.zone_id = $1 AND v.version = $2
