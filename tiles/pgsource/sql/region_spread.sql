-- The H3 resolution-11 residence cell of every counted (not excluded) case
-- (restricted layer); the tile service counts them per parent cell. Cells
-- are not geometry here, so the layer is read whole.
SELECT c.id, c.h3_r11
FROM cases c
WHERE c.exclusion_category IS NULL
  AND c.h3_r11 IS NOT NULL
