-- Members of each assembled zone (see propose_assemble.sql): whole buildings,
-- units, population (whole buildings' population plus that of units of
-- buildings only partly in), whether any of it is estimated, the day-time
-- workers of the non-residential buildings a trace seeded ($1: their ids;
-- floor area × floors, 1 when unknown, / $2 m² per worker, rounded up),
-- area and geometry.
SELECT f.grp,
       coalesce(wb.ids, '{}'),
       coalesce(us.ids, '{}'),
       coalesce(wb.pop, 0) + coalesce(us.partial_pop, 0),
       coalesce(wb.derived, false) OR coalesce(us.derived, false) OR coalesce(wb.workers, 0) > 0,
       coalesce(wb.workers, 0)::int,
       ST_Area(f.geom::geography),
       ST_AsGeoJSON(ST_ForcePolygonCCW(f.geom), 7)
FROM zfinal f
LEFT JOIN (
    SELECT w.grp, array_agg(w.building_id ORDER BY w.building_id) AS ids, sum(b.population) AS pop,
           bool_or(b.population_derived) AS derived,
           sum(CASE WHEN b.kind <> 'residential' AND b.id = ANY ($1::bigint[])
                    THEN ceil(ST_Area(b.geom::geography) * coalesce(b.floors, 1) / $2::float8) ELSE 0 END) AS workers
    FROM zwhole w JOIN buildings b ON b.id = w.building_id
    GROUP BY w.grp
) wb ON wb.grp = f.grp
LEFT JOIN (
    SELECT z.grp, array_agg(z.unit_id ORDER BY z.unit_id) AS ids, sum(z.population) FILTER (WHERE NOT z.whole) AS partial_pop,
           bool_or(u.population_derived) FILTER (WHERE NOT z.whole) AS derived
    FROM zunits z JOIN units u ON u.id = z.unit_id GROUP BY z.grp
) us ON us.grp = f.grp
ORDER BY f.grp
