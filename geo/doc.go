// Package geo is riskzone's pure geometry on github.com/paulmach/orb: the local
// metric projection used to lay out and measure small areas, H3 cell helpers,
// and (as they are added) validation, ring winding, snapping, an in-memory
// index and tile math.
//
// Nothing here does I/O or SQL. Work that needs a topology engine (polygon
// union, noding, polygonizing, clipping) runs in PostGIS instead. Functions
// return errors for bad input rather than panicking.
package geo
