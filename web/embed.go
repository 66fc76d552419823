// Package web holds the browser assets of riskzone, built from npm packages
// by `npm run build` (make web) into dist/ and embedded in the binary. The
// server serves vendor/ and embed.js under /assets/ and the expert app
// (dist/app, built by Vite from app/) under /app/. A fresh clone builds without them
// (dist/ holds only .keep): the pages then work without their maps.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built assets: vendor/maplibre-gl.js and .css (MapLibre GL JS
// from npm, never a CDN) and embed.js (the public map).
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // "dist" is embedded: a build error otherwise
	}
	return sub
}

// Built reports whether the assets have been built (npm run build).
func Built() bool {
	_, err := fs.Stat(Dist(), "vendor/maplibre-gl.js")
	return err == nil
}
