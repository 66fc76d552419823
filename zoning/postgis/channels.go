package postgis

// The NOTIFY channels of the database, one constant each: Go code names a
// channel only through these (TestChannelsNamedOnce); the .sql files under
// zoning/postgis/sql, zoning/importer/sql and the migrations spell them
// literally, and the same test checks they spell no other.

// LayersChannel is the channel every writer that bumps layer_versions
// announces the layers on (the payload lists them); the tile cache, the
// lookup index, the page cache and the scheduler of every replica listen.
const LayersChannel = "riskzone_layers"

// OutboxChannel is the NOTIFY channel a publication signals, so that
// delivery workers start at once instead of at their next poll.
const OutboxChannel = "riskzone_outbox"
