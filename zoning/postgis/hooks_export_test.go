package postgis

// WithAfterCommit returns z with a hook that runs right after each of its
// writes commits and before the write answers (tests only).
func WithAfterCommit(z Zones, f func()) Zones {
	z.afterCommit = f
	return z
}
