-- Buildings whose units were just derived say so.
-- (Buildings added by this import were inserted saying so.)
UPDATE buildings b SET units_derived = true
FROM import_derive d
WHERE b.id = d.id AND NOT d.new AND NOT b.units_derived
