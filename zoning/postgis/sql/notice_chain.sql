-- The CAP chain of a county: its actual notices since the last one that
-- returned it to normal (kind normalize), oldest first. Test and exercise
-- notices reference the chain but never join it.
SELECT n.id, n.cap_xml
FROM notices n
WHERE n.county_id = $1
  AND n.status = 'actual'
  AND n.id > coalesce((SELECT max(m.id) FROM notices m WHERE m.county_id = $1 AND m.kind = 'normalize' AND m.status = 'actual'), 0)
ORDER BY n.id;
