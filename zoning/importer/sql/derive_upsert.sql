-- Units of buildings that existed: upserted; units loaded from a file
-- (derived = false) are never overwritten by derived ones. Wraps the query
-- of derive_units (with $1 = false) and returns (added, changed).
WITH m AS (
    INSERT INTO units AS u (building_id, number, name, floors, population, population_derived, derived, geom)
    SELECT building_id, number, name, floors, population, true, true, geom
    FROM (/* derive_units */) x
    ON CONFLICT (building_id, number) DO UPDATE SET
        name = excluded.name,
        floors = excluded.floors,
        population = excluded.population,
        population_derived = true,
        geom = excluded.geom
    WHERE u.derived
      AND ((u.name, u.floors, u.population, u.population_derived) IS DISTINCT FROM
           (excluded.name, excluded.floors, excluded.population, true)
           OR ST_AsEWKB(u.geom) IS DISTINCT FROM ST_AsEWKB(excluded.geom))
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM m
