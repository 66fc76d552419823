-- The data version of one layer, read in the snapshot of a region read.
SELECT coalesce((SELECT version FROM layer_versions WHERE layer = $1), 0)
