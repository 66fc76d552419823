-- The CAP chain of a county: its notices since the last one that returned
-- it to normal (kind normalize), oldest first.
SELECT n.id, n.cap_xml
FROM notices n
WHERE n.county_id = $1
  AND n.id > coalesce((SELECT max(m.id) FROM notices m WHERE m.county_id = $1 AND m.kind = 'normalize'), 0)
ORDER BY n.id;
