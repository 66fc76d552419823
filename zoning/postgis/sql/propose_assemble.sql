-- Assemble draft zones from the parts in zparts (filled by the caller):
-- merge parts that overlap or touch, apply the building membership rule
-- (share >= $1 of a footprint inside: the whole building in, otherwise the
-- whole building out) to every component that is not made of units only, and
-- merge again what touches after that. Result in zfinal(grp, geom, units_only).
ANALYZE zparts;

CREATE TEMP TABLE zcomp ON COMMIT DROP AS
SELECT comp,
       array_agg(part ORDER BY part) AS parts,
       bool_and(kind = 'unit') AS units_only,
       ST_UnaryUnion(ST_Collect(geom)) AS geom
FROM (
    SELECT part, kind, geom, ST_ClusterDBSCAN(geom, 0, 1) OVER (ORDER BY part) AS comp
    FROM zparts
) x
GROUP BY comp;
CREATE INDEX ON zcomp USING gist (geom);
ANALYZE zcomp;

-- Buildings touched by a component and the share of their footprint inside
-- (1 without computing an intersection when the footprint is covered).
CREATE TEMP TABLE zmember ON COMMIT DROP AS
SELECT c.comp, b.id AS building_id, b.geom,
       CASE WHEN ST_CoveredBy(b.geom, c.geom) THEN 1.0
            ELSE ST_Area(ST_Intersection(b.geom, c.geom)) / nullif(ST_Area(b.geom), 0)
       END AS share
FROM zcomp c
JOIN buildings b ON ST_Intersects(b.geom, c.geom)
WHERE NOT c.units_only;
CREATE INDEX ON zmember (comp);
ANALYZE zmember;

-- Members that stick out are added whole; non-members that reach in are cut out.
CREATE TEMP TABLE zshaped ON COMMIT DROP AS
SELECT c.comp, c.parts, c.units_only,
       CASE WHEN c.units_only OR (ins.g IS NULL AND outs.g IS NULL) THEN ST_Multi(c.geom)
       ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(
                ST_Difference(
                    ST_UnaryUnion(ST_Collect(c.geom, coalesce(ins.g, c.geom))),
                    coalesce(outs.g, ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326)))), 3))
       END AS geom
FROM zcomp c
LEFT JOIN LATERAL (SELECT ST_Union(m.geom) AS g FROM zmember m WHERE m.comp = c.comp AND m.share >= $1 AND m.share < 1) ins ON true
LEFT JOIN LATERAL (SELECT ST_Union(m.geom) AS g FROM zmember m WHERE m.comp = c.comp AND m.share < $1 AND m.share > 1e-9) outs ON true;

CREATE TEMP TABLE zfinal ON COMMIT DROP AS
SELECT grp,
       array_agg(comp ORDER BY comp) AS comps,
       bool_and(units_only) AS units_only,
       ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(geom)), 3)) AS geom
FROM (
    SELECT comp, units_only, geom, ST_ClusterDBSCAN(geom, 0, 1) OVER (ORDER BY comp) AS grp
    FROM zshaped
    WHERE NOT ST_IsEmpty(geom)
) x
GROUP BY grp;
ANALYZE zfinal;

-- Flat membership rows per final zone: whole buildings, and units with
-- their building and population (whole = the unit's building is a member).
-- UNION, not UNION ALL: a unit in two parts of a zone (its case's seed and a
-- cluster's building level) is one member.
CREATE TEMP TABLE zwhole ON COMMIT DROP AS
SELECT DISTINCT f.grp, m.building_id
FROM zfinal f, unnest(f.comps) AS fc(comp)
JOIN zmember m ON m.comp = fc.comp AND m.share >= $1;
CREATE INDEX ON zwhole (grp, building_id);
ANALYZE zwhole;

CREATE TEMP TABLE zunits ON COMMIT DROP AS
SELECT w.grp, u.id AS unit_id, u.building_id, u.population, true AS whole
FROM zwhole w JOIN units u ON u.building_id = w.building_id
UNION
SELECT f.grp, u.id, u.building_id, u.population, false
FROM zfinal f, unnest(f.comps) AS fc(comp)
JOIN zshaped s ON s.comp = fc.comp AND s.units_only
CROSS JOIN LATERAL unnest(s.parts) AS p(part)
JOIN zunitparts x ON x.part = p.part
JOIN units u ON u.id = x.unit_id
WHERE NOT EXISTS (SELECT 1 FROM zwhole w WHERE w.grp = f.grp AND w.building_id = u.building_id);
ANALYZE zunits;
