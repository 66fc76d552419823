-- Buildings of the file: changed ones updated, new ones inserted, identical
-- ones left alone (an UPDATE and an INSERT rather than an upsert: a first
-- load of a million buildings skips a million speculative insertions).
--
-- Missing population is estimated: footprint area (computed when the file
-- was read, see buildingArea; by PostGIS on the spheroid for a repaired
-- footprint) × floors
-- (the default when unknown) × persons per m² for residential buildings, 0
-- for the others, and marked derived. An observed population already in the
-- table is never replaced by an estimate.
--
-- County, community and compound come from the areas holding the building's
-- ST_PointOnSurface (the same point reassign_buildings uses, so that the
-- assignment is stable from one import to the next). Of nested compounds
-- the smallest named one: its name is the building's 小区 in notices and
-- the lookup (an unnamed walled area inside a named estate does not hide
-- the estate's name).
WITH src AS MATERIALIZED (
    SELECT r.source_id, coalesce(r.kind, 'residential') AS kind, r.name,
           r.addr_district, r.addr_street, r.addr_community, r.addr_compound, r.addr_number,
           r.floors, r.h3_r11, r.geom,
           r.population IS NULL AS population_derived,
           coalesce(r.population,
                    CASE WHEN coalesce(r.kind, 'residential') = 'residential'
                         THEN round(coalesce(CASE WHEN r.status = 'ok' THEN r.area_m2 END, ST_Area(r.geom::geography))
                                    * coalesce(r.floors, p.default_floors) * p.persons_per_m2)::int
                         ELSE 0 END) AS population,
           (SELECT a.id FROM admin_areas a WHERE a.level = 'county' AND ST_Intersects(a.geom, pt.pt) ORDER BY a.id LIMIT 1) AS county_id,
           (SELECT a.id FROM admin_areas a WHERE a.level = 'community' AND ST_Intersects(a.geom, pt.pt) ORDER BY a.id LIMIT 1) AS community_id,
           (SELECT c.id FROM compounds c WHERE ST_Intersects(c.geom, pt.pt)
            ORDER BY c.name = '', ST_Area(c.geom), c.id LIMIT 1) AS compound_id
    FROM import_rows r
    CROSS JOIN import_params p
    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(r.geom) AS pt OFFSET 0) pt
    WHERE r.layer = 'buildings' AND r.geom IS NOT NULL
), upd AS (
    UPDATE buildings b SET
        county_id = s.county_id,
        community_id = s.community_id,
        compound_id = s.compound_id,
        kind = s.kind,
        name = s.name,
        addr_district = s.addr_district,
        addr_street = s.addr_street,
        addr_community = s.addr_community,
        addr_compound = s.addr_compound,
        addr_number = s.addr_number,
        floors = s.floors,
        population = CASE WHEN s.population_derived AND NOT b.population_derived THEN b.population ELSE s.population END,
        population_derived = s.population_derived AND b.population_derived,
        -- Derived units are re-derived; units someone loaded stay.
        units_derived = CASE WHEN s.kind <> 'residential' THEN false
                             WHEN p.derive_units THEN b.units_derived OR NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = b.id)
                             ELSE b.units_derived END,
        h3_r11 = s.h3_r11,
        geom = s.geom,
        updated_at = now()
    FROM src s, import_params p
    WHERE b.source = p.source AND b.source_id = s.source_id
      AND ((b.county_id, b.community_id, b.compound_id, b.kind, b.name, b.addr_district, b.addr_street,
            b.addr_community, b.addr_compound, b.addr_number, b.floors, b.h3_r11)
           IS DISTINCT FROM
           (s.county_id, s.community_id, s.compound_id, s.kind, s.name, s.addr_district, s.addr_street,
            s.addr_community, s.addr_compound, s.addr_number, s.floors, s.h3_r11)
           OR (CASE WHEN s.population_derived AND NOT b.population_derived THEN b.population ELSE s.population END,
               s.population_derived AND b.population_derived)
              IS DISTINCT FROM (b.population, b.population_derived)
           OR ST_AsEWKB(b.geom) <> ST_AsEWKB(s.geom))
    RETURNING b.id
), ins AS (
    INSERT INTO buildings (county_id, community_id, compound_id, kind, name, addr_district, addr_street,
                           addr_community, addr_compound, addr_number, floors, population,
                           population_derived, units_derived, h3_r11, geom, source, source_id, updated_at)
    SELECT s.county_id, s.community_id, s.compound_id, s.kind, s.name, s.addr_district, s.addr_street,
           s.addr_community, s.addr_compound, s.addr_number, s.floors, s.population,
           s.population_derived, s.kind = 'residential' AND p.derive_units, s.h3_r11, s.geom, p.source, s.source_id, now()
    FROM src s CROSS JOIN import_params p
    WHERE NOT EXISTS (SELECT 1 FROM buildings b WHERE b.source = p.source AND b.source_id = s.source_id)
    RETURNING id
)
INSERT INTO import_touched (layer, id, inserted)
SELECT 'buildings', id, false FROM upd
UNION ALL
SELECT 'buildings', id, true FROM ins
