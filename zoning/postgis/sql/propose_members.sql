-- Members of each assembled zone (see propose_assemble.sql): whole buildings,
-- units, population (whole buildings' population plus that of units of
-- buildings only partly in), area and geometry.
SELECT f.grp,
       coalesce(wb.ids, '{}'),
       coalesce(us.ids, '{}'),
       coalesce(wb.pop, 0) + coalesce(us.partial_pop, 0),
       ST_Area(f.geom::geography),
       ST_AsGeoJSON(ST_ForcePolygonCCW(f.geom), 7)
FROM zfinal f
LEFT JOIN (
    SELECT w.grp, array_agg(w.building_id ORDER BY w.building_id) AS ids, sum(b.population) AS pop
    FROM zwhole w JOIN buildings b ON b.id = w.building_id
    GROUP BY w.grp
) wb ON wb.grp = f.grp
LEFT JOIN (
    SELECT grp, array_agg(unit_id ORDER BY unit_id) AS ids, sum(population) FILTER (WHERE NOT whole) AS partial_pop
    FROM zunits GROUP BY grp
) us ON us.grp = f.grp
ORDER BY f.grp
