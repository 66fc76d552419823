-- The public timeline: each zone version an actual notice announced, in
-- force from that notice's effective time (valid_from) until the zone's next
-- actual notice took effect (valid_to; NULL while in force). Test and
-- exercise notices rehearse a publication and change no map, so they are
-- not in it. Every public reader of zone history (the lookup's "was this
-- place in a zone", OGC zones and zone-versions, exports, pages) reads it,
-- beside public_zone_versions for the current map.
CREATE VIEW public_zone_timeline AS
SELECT nz.zone_id, nz.version, z.county_id, n.id AS notice_id, n.effective_at AS valid_from,
       lead(n.effective_at) OVER (PARTITION BY nz.zone_id ORDER BY n.effective_at, n.id) AS valid_to
FROM notice_zones nz
JOIN notices n ON n.id = nz.notice_id
JOIN zones z ON z.id = nz.zone_id
WHERE n.status = 'actual';
