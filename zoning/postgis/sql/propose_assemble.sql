-- Assemble draft zones from the parts in zparts (filled by the caller):
-- merge parts that overlap or touch, apply the building membership rule
-- (share >= $1 of a footprint inside: the whole building in; else the whole
-- building out) to every component that is not made of units only, and merge
-- again what touches after that. Result in zfinal(grp, geom, units_only).
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

CREATE TEMP TABLE zmember ON COMMIT DROP AS
SELECT c.comp, b.id AS building_id, b.geom,
       ST_Area(ST_Intersection(b.geom, c.geom)) / nullif(ST_Area(b.geom), 0) AS share
FROM zcomp c
JOIN buildings b ON ST_Intersects(b.geom, c.geom)
WHERE NOT c.units_only;

CREATE TEMP TABLE zshaped ON COMMIT DROP AS
SELECT c.comp, c.parts, c.units_only,
       CASE WHEN c.units_only THEN ST_Multi(c.geom)
       ELSE ST_Multi(ST_CollectionExtract(ST_MakeValid(
                ST_Difference(
                    ST_UnaryUnion(ST_Collect(c.geom, coalesce(ins.g, c.geom))),
                    coalesce(outs.g, ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326)))), 3))
       END AS geom
FROM zcomp c
LEFT JOIN LATERAL (SELECT ST_Union(m.geom) AS g FROM zmember m WHERE m.comp = c.comp AND m.share >= $1) ins ON true
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
