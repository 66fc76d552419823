package server

// csvText neutralises a text cell of a CSV export: a cell that starts with
// = + - @, a tab or a carriage return is read as a formula by spreadsheet
// programs (CSV injection), so it gets a leading apostrophe, which they
// show as text. Numbers and dates the server writes itself do not pass
// through here (a longitude of -0.5 must stay a number).
func csvText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
