-- Units of the file whose building is not in the source: skipped.
UPDATE import_rows r
SET status = 'skipped', reason = 'building ' || coalesce(r.building_ref, '(none)') || ' not found in source ' || p.source
FROM import_params p
WHERE r.layer = 'units' AND r.status <> 'skipped'
  AND NOT EXISTS (SELECT 1 FROM buildings b WHERE b.source = p.source AND b.source_id = r.building_ref)
