DELETE FROM compounds WHERE id = ANY ($1)
