-- Members of each assembled zone: whole buildings (share >= $1) of the
-- building-level components, and units — all units of member buildings, or
-- the seeded units of unit-only zones ($2: part number -> unit ids as JSON).
WITH whole AS (
    SELECT f.grp, m.building_id
    FROM zfinal f
    JOIN zmember m ON m.comp = ANY (f.comps) AND m.share >= $1
    GROUP BY f.grp, m.building_id
),
seeded AS (
    SELECT f.grp, (jsonb_array_elements_text(($2::jsonb) -> p::text))::bigint AS unit_id
    FROM zfinal f
    JOIN zshaped s ON s.comp = ANY (f.comps) AND s.units_only
    CROSS JOIN LATERAL unnest(s.parts) AS p
),
units_all AS (
    SELECT w.grp, u.id AS unit_id, u.population FROM whole w JOIN units u ON u.building_id = w.building_id
    UNION
    SELECT s.grp, u.id, u.population FROM seeded s JOIN units u ON u.id = s.unit_id
    WHERE NOT EXISTS (SELECT 1 FROM whole w WHERE w.grp = s.grp AND w.building_id = u.building_id)
)
SELECT f.grp,
       coalesce((SELECT array_agg(w.building_id ORDER BY w.building_id) FROM whole w WHERE w.grp = f.grp), '{}'),
       coalesce((SELECT array_agg(DISTINCT u.unit_id ORDER BY u.unit_id) FROM units_all u WHERE u.grp = f.grp), '{}'),
       coalesce((SELECT sum(b.population) FROM whole w JOIN buildings b ON b.id = w.building_id WHERE w.grp = f.grp), 0)
       + coalesce((SELECT sum(x.population) FROM (SELECT DISTINCT ua.unit_id, ua.population FROM units_all ua
                   JOIN units u ON u.id = ua.unit_id
                   WHERE ua.grp = f.grp
                     AND NOT EXISTS (SELECT 1 FROM whole w WHERE w.grp = f.grp AND w.building_id = u.building_id)) x), 0),
       ST_Area(f.geom::geography),
       ST_AsGeoJSON(ST_ForcePolygonCCW(f.geom), 7)
FROM zfinal f
ORDER BY f.grp
