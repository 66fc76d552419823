SELECT layer, source_id, count(*)
FROM import_rows
GROUP BY layer, source_id
HAVING count(*) > 1
ORDER BY layer, source_id
LIMIT 5
