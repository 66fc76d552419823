// Package migrations holds the numbered SQL migrations of the riskzone schema,
// embedded in the binary and applied by jackc/tern (see zoning/postgis.Migrate).
package migrations

import "embed"

// FS holds the migration files, named NNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
