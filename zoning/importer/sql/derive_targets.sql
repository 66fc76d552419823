-- Residential buildings of this import whose units are derived now: those
-- added, those changed whose units are derived, and those with no units.
CREATE TEMP TABLE import_derive ON COMMIT DROP AS
SELECT b.id, b.geom, b.population, b.floors, r.unit_wkb, r.clip_wkb, r.fills,
       ST_NumGeometries(ST_GeomFromWKB(r.unit_wkb)) AS n,
       coalesce(t.inserted, false) AS new, r.status = 'repaired' AS repaired
FROM import_rows r
JOIN import_params p ON true
JOIN buildings b ON b.source = p.source AND b.source_id = r.source_id
LEFT JOIN import_touched t ON t.layer = 'buildings' AND t.id = b.id
WHERE r.layer = 'buildings' AND r.geom IS NOT NULL AND r.unit_wkb IS NOT NULL AND b.kind = 'residential'
  AND (t.inserted
       OR (t.id IS NOT NULL AND b.units_derived)
       OR NOT EXISTS (SELECT 1 FROM units u WHERE u.building_id = b.id))
