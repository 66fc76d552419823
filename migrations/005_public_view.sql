-- What the public may see of a zone: its latest published version. Edits
-- made after a publication stay internal until the next notice publishes
-- them; a published lift (status lifted) or a superseded zone drops out of
-- the public map. Every public endpoint (pages, tiles, exports, feeds,
-- lookup) reads zones through this view, never zone_versions directly.
CREATE VIEW public_zone_versions AS
SELECT DISTINCT ON (zv.zone_id)
       zv.zone_id, zv.version, zv.level, zv.status, zv.change, zv.name, zv.geom, zv.building_ids, zv.unit_ids,
       zv.population, zv.staff_required, zv.area_m2, zv.rule_set_id, zv.clock_start, zv.valid_from,
       zv.published_notice_id, z.county_id
FROM zone_versions zv
JOIN zones z ON z.id = zv.zone_id
WHERE zv.published_notice_id IS NOT NULL
ORDER BY zv.zone_id, zv.version DESC;
