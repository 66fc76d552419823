-- The units of the buildings in import_derive that are new ($1 = true) or
-- not ($1 = false), from the strips planned when the file was read
-- (unit_wkb: the footprint's minimum-area rectangle cut across its long axis
-- into n strips, see unitsplit.go). A strip is the unit when the footprint
-- fills its rectangle. Otherwise the unit is the footprint clipped to the
-- strip: as clipped in Go (clip_wkb, piece i for strip i) when that piece is
-- valid, else here (ST_Intersection); a footprint that was repaired is
-- always clipped here. One unit is the building itself. The building's
-- population is shared out evenly (the remainder to the first units).
-- derive_insert and derive_upsert write these rows.
SELECT d.id AS building_id, st.number, st.number || '单元' AS name, d.floors,
       d.population / d.n + CASE WHEN st.number <= d.population % d.n THEN 1 ELSE 0 END AS population,
       CASE WHEN d.n = 1 THEN d.geom
            WHEN k.direct THEN ST_Multi(coalesce(k.piece, st.strip))
            ELSE c.geom END AS geom
FROM import_derive d
CROSS JOIN LATERAL (SELECT ST_GeomFromWKB(d.unit_wkb, 4326) AS mp,
                           CASE WHEN NOT d.repaired AND d.n > 1 THEN ST_GeomFromWKB(d.clip_wkb, 4326) END AS cp OFFSET 0) m
CROSS JOIN LATERAL (SELECT dp.path[1] AS number, dp.geom AS strip FROM ST_Dump(m.mp) AS dp) st
CROSS JOIN LATERAL (
    SELECT d.n > 1 AND NOT d.repaired AND (d.fills OR (p.piece IS NOT NULL AND ST_IsValid(p.piece))) AS direct, p.piece
    FROM (SELECT ST_GeometryN(m.cp, st.number) AS piece OFFSET 0) p
    OFFSET 0
) k
LEFT JOIN LATERAL (
    -- Only for the strips that need clipping (the condition sits on the
    -- innermost query: OFFSET 0 evaluates it before anything above).
    SELECT CASE WHEN ST_IsEmpty(x.g) THEN NULL ELSE x.g END AS geom
    FROM (SELECT ST_Multi(ST_CollectionExtract(CASE WHEN ST_IsValid(i.g) THEN i.g ELSE ST_MakeValid(i.g) END, 3)) AS g
          FROM (SELECT ST_Intersection(d.geom, st.strip) AS g
                WHERE d.n > 1 AND NOT k.direct
                OFFSET 0) i
          OFFSET 0) x
) c ON true
WHERE d.new = $1
