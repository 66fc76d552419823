-- The unpublished versions of a county's zones, oldest first, with the
-- zone's latest published version (what the public saw; 0 and '' when the
-- zone was never public). Runs under the county lock of the publication.
SELECT v.zone_id, z.parent_zone_ids, v.version, v.status, v.change, v.author_id,
       coalesce(p.version, 0), coalesce(p.status, '')
FROM zone_versions v
JOIN zones z ON z.id = v.zone_id
LEFT JOIN LATERAL (
    SELECT pv.version, pv.status
    FROM zone_versions pv
    WHERE pv.zone_id = v.zone_id AND pv.published_notice_id IS NOT NULL
    ORDER BY pv.version DESC
    LIMIT 1
) p ON true
WHERE z.county_id = $1
  AND v.published_notice_id IS NULL
ORDER BY v.zone_id, v.version;
