// Command tileload is the riskzone side of bench/tiles.sh.
//
//	tileload serve --dsn URL --addr 127.0.0.1:18801 [--no-cache] [--log FILE] [--pprof ADDR]
//	    runs the riskzone server (server.New, as `riskzone serve` does, without
//	    migrating) with the tile cache on, or off for the cold path.
//	tileload tiles --dsn URL --server http://127.0.0.1:18801 --layer buildings
//	    --n 600 --www DIR --out PATHS
//	    picks n distinct z14-z16 tiles of a layer (a third per zoom, fixed
//	    seed) that the server answers with a non-empty tile, writes each to
//	    DIR/tiles/LAYER/z/x/y.mvt (what nginx serves) and the paths, one a
//	    line, to PATHS and PATHS.v (the versioned URLs of TileJSON).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/riskzone/riskzone/server"
	"github.com/riskzone/riskzone/tiles"
	"github.com/riskzone/riskzone/zoning/postgis"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tileload serve|tiles [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, os.Args[2:])
	case "tiles":
		err = pickTiles(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want serve or tiles", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tileload:", err)
		os.Exit(1)
	}
}

func serve(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dsn := fs.String("dsn", os.Getenv("DATABASE_URL"), "database URL")
	addr := fs.String("addr", "127.0.0.1:18801", "listen address (loopback)")
	noCache := fs.Bool("no-cache", false, "render every tile (the cold path)")
	fastAddr := fs.String("fast-addr", "", "also serve the fast listener (lookup and warm public tiles, fasthttp) on this address")
	logFile := fs.String("log", "", "request log file (default: discard)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback address (profiling)")
	_ = fs.Parse(args)
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }() // the default mux holds pprof
	}
	var out io.Writer = io.Discard
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	log := slog.New(slog.NewJSONHandler(out, nil))
	store, err := postgis.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	srv := server.New(server.Config{Addr: *addr, FastAddr: *fastAddr, Limits: server.LimitConfig{ExemptLoopback: true}, Tiles: server.TileConfig{Options: tiles.Options{NoCache: *noCache}}}, store, log)
	return srv.ListenAndServe(ctx, func(a net.Addr) { fmt.Fprintln(os.Stderr, "tileload: serving on", a) })
}

func pickTiles(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tiles", flag.ExitOnError)
	dsn := fs.String("dsn", os.Getenv("DATABASE_URL"), "database URL")
	base := fs.String("server", "http://127.0.0.1:18801", "riskzone server to fetch from")
	layer := fs.String("layer", "buildings", "buildings or zones")
	n := fs.Int("n", 600, "tiles to pick")
	seed := fs.Uint64("seed", 1, "shuffle seed")
	www := fs.String("www", "", "directory the static server serves")
	outPath := fs.String("out", "", "file for the list of paths")
	_ = fs.Parse(args)
	var query string
	switch *layer {
	case "buildings":
		query = `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM buildings`
	case "zones":
		query = `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM public_zone_versions WHERE status = 'active'`
	default:
		return fmt.Errorf("layer %q: want buildings or zones", *layer)
	}
	store, err := postgis.Open(ctx, *dsn)
	if err != nil {
		return err
	}
	defer store.Close()
	rows, err := store.Pool.Query(ctx, query)
	if err != nil {
		return err
	}
	// Every tile at z14-z16 that a feature's box meets.
	byZoom := map[uint8]map[tiles.TileID]bool{14: {}, 15: {}, 16: {}}
	for rows.Next() {
		var x0, y0, x1, y1 float64
		if err := rows.Scan(&x0, &y0, &x1, &y1); err != nil {
			return err
		}
		for z := uint8(14); z <= 16; z++ {
			a, b := tiles.TileOf(x0, y1, z), tiles.TileOf(x1, y0, z)
			for x := a.X; x <= b.X; x++ {
				for y := a.Y; y <= b.Y; y++ {
					byZoom[z][tiles.TileID{Z: z, X: x, Y: y}] = true
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	version, err := tileVersion(ctx, *base, *layer)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(*seed, 7))
	var paths, versioned []string
	client := &http.Client{Timeout: 30 * time.Second}
	for i, z := range []uint8{14, 15, 16} {
		var cands []tiles.TileID
		for t := range byZoom[z] {
			cands = append(cands, t)
		}
		slices.SortFunc(cands, func(a, b tiles.TileID) int {
			if a.X != b.X {
				return int(a.X) - int(b.X)
			}
			return int(a.Y) - int(b.Y)
		})
		r.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		want := (*n - len(paths)) / (3 - i) // a third each; a short zoom leaves its share to the next
		got := 0
		for _, t := range cands {
			if got == want {
				break
			}
			path := fmt.Sprintf("/tiles/%s/%d/%d/%d.mvt", *layer, t.Z, t.X, t.Y)
			body, err := fetch(ctx, client, *base+path+"?v="+version)
			if err != nil {
				return err
			}
			if body == nil {
				continue // empty tile: the static server could not answer it
			}
			file := filepath.Join(*www, filepath.FromSlash(path))
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(file, body, 0o644); err != nil {
				return err
			}
			paths = append(paths, path)
			versioned = append(versioned, path+"?v="+version)
			got++
		}
	}
	if len(paths) < *n {
		fmt.Fprintf(os.Stderr, "tileload: only %d non-empty %s tiles found (asked for %d)\n", len(paths), *layer, *n)
	}
	if err := os.WriteFile(*outPath, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(*outPath+".v", []byte(strings.Join(versioned, "\n")+"\n"), 0o644)
}

// tileVersion reads the v of a layer's tile URLs from its TileJSON.
func tileVersion(ctx context.Context, base, layer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/tiles/"+layer+".json", nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	_, rest, ok := strings.Cut(string(b), "?v=")
	if !ok {
		return "", errors.New("TileJSON has no versioned tile URL")
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v, nil
}

// fetch returns a tile's bytes, nil for an empty tile (204).
func fetch(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
		return io.ReadAll(res.Body)
	}
	return nil, fmt.Errorf("GET %s: %s", url, res.Status)
}
