// Command baseline-tileserver is the cold-path baseline of bench/tiles.sh: a
// plain vector tile server that renders every request with one ST_AsMVT
// query over a pgx pool, as pg_tileserv does (no cache, no tile-ready data).
//
//	baseline-tileserver --dsn postgres://... --addr 127.0.0.1:18803
//
// It serves GET /tiles/{buildings|zones}/{z}/{x}/{y}.mvt: 200 with the tile,
// 204 when empty, 400/404 for bad paths.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed buildings.sql
var buildingsSQL string

//go:embed zones.sql
var zonesSQL string

func main() {
	dsn := flag.String("dsn", os.Getenv("DATABASE_URL"), "database URL")
	addr := flag.String("addr", "127.0.0.1:18803", "listen address (loopback)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.New(ctx, *dsn)
	if err != nil {
		log.Fatalf("connect: %v", err)
	}
	defer pool.Close()
	queries := map[string]string{"buildings": buildingsSQL, "zones": zonesSQL}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tiles/{layer}/{z}/{x}/{y}", func(w http.ResponseWriter, r *http.Request) {
		q, ok := queries[r.PathValue("layer")]
		ys, isMVT := strings.CutSuffix(r.PathValue("y"), ".mvt")
		if !ok || !isMVT {
			http.NotFound(w, r)
			return
		}
		z, errZ := strconv.Atoi(r.PathValue("z"))
		x, errX := strconv.Atoi(r.PathValue("x"))
		y, errY := strconv.Atoi(ys)
		if errors.Join(errZ, errX, errY) != nil || z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
			http.Error(w, "bad tile", http.StatusBadRequest)
			return
		}
		var body []byte
		if err := pool.QueryRow(r.Context(), q, z, x, y).Scan(&body); err != nil {
			log.Printf("tile %d/%d/%d: %v", z, x, y, err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if len(body) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.mapbox-vector-tile")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
