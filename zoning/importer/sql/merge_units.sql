-- Units loaded from a file, found by their building's source id and number.
-- A missing population is the building's shared out evenly among its units
-- in the file, marked derived. Loaded units replace derived ones.
WITH src AS (
    SELECT b.id AS building_id, r.number, coalesce(nullif(r.name, ''), r.number || '单元') AS name, r.floors,
           r.population IS NULL AS population_derived,
           coalesce(r.population,
                    b.population / count(*) OVER w
                    + CASE WHEN row_number() OVER (w ORDER BY r.number) <= b.population % count(*) OVER w THEN 1 ELSE 0 END
           ) AS population,
           r.geom
    FROM import_rows r
    JOIN import_params p ON true
    JOIN buildings b ON b.source = p.source AND b.source_id = r.building_ref
    WHERE r.layer = 'units' AND r.status <> 'skipped'
    WINDOW w AS (PARTITION BY b.id)
), m AS (
    INSERT INTO units AS u (building_id, number, name, floors, population, population_derived, derived, geom)
    SELECT building_id, number, name, floors, population, population_derived, false, geom
    FROM src
    ON CONFLICT (building_id, number) DO UPDATE SET
        name = excluded.name,
        floors = excluded.floors,
        population = excluded.population,
        population_derived = excluded.population_derived,
        derived = false,
        geom = excluded.geom
    WHERE (u.name, u.floors, u.population, u.population_derived, u.derived)
          IS DISTINCT FROM (excluded.name, excluded.floors, excluded.population, excluded.population_derived, false)
       OR ST_AsEWKB(u.geom) IS DISTINCT FROM ST_AsEWKB(excluded.geom)
    RETURNING u.id, (xmax = 0) AS inserted
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'units', id, inserted FROM m
