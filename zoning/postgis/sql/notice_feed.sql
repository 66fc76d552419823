-- The notices of the Atom feed, newest first: every notice of a county's
-- open CAP chain (since its last return to normal) and every notice of the
-- last 30 days (so that Cancels stay visible for a while).
SELECT n.id
FROM notices n
WHERE n.published_at > $1::timestamptz - interval '30 days'
   OR n.id > coalesce((SELECT max(m.id) FROM notices m WHERE m.county_id = n.county_id AND m.kind = 'normalize'), 0)
ORDER BY n.published_at DESC, n.id DESC
LIMIT $2;
