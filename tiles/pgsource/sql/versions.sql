-- The data version of every layer.
SELECT layer, version
FROM layer_versions
