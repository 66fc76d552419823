CREATE INDEX ON import_rows (layer, source_id);
ANALYZE import_rows;
