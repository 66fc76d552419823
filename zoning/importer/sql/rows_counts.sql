-- Read, skipped and repaired rows per layer, and the skipped ones to list.
SELECT layer,
       count(*) AS read,
       count(*) FILTER (WHERE status = 'skipped') AS skipped,
       count(*) FILTER (WHERE status = 'repaired') AS repaired
FROM import_rows
GROUP BY layer
