-- Units of buildings this import added: nothing to conflict with.
-- (Followed by the query of derive_units, with $1 = true.)
INSERT INTO units (building_id, number, name, floors, population, population_derived, derived, geom)
SELECT building_id, number, name, floors, population, true, true, geom
FROM
