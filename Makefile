# riskzone — the entry point for people and CI. Every target works on a fresh
# clone of a Debian machine; as root, missing packages are installed with apt.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN        := bin/riskzone
GO         ?= go
ADDR       ?= 127.0.0.1:8080
DEMO_SEED  ?= 1
DEMO_SIZE  ?= 20000
# Packages the test suite uses beside PostGIS (independent clients and validators;
# chromium and a CJK font for the browser tests and their screenshots).
TEST_DEBS  := postgresql-15-postgis-3 gdal-bin libxml2-utils osmium-tool chromium fonts-wqy-microhei
GO_FILES   := $(shell find . -name '*.go' -not -path './web/*' 2>/dev/null) go.mod go.sum migrations/*.sql

.PHONY: help deps build db-start db-stop migrate demo run test vet unit bench clean web cluster cluster-stop fuzz fuzz-smoke

help:
	@echo "make run    install what is missing, start the local PostGIS, migrate, load the demo city, serve on http://$(ADDR)"
	@echo "make test   the same set-up, then go vet, the web app's unit tests and every Go test (unit, PostGIS integration, browser), then make fuzz-smoke"
	@echo "make bench  benchmarks (see README, Performance)"
	@echo "make db-stop  stop the local PostGIS"
	@echo "make cluster  the demo city served by 3 replicas on 127.0.0.1:8081-8083 (make cluster-stop ends them)"
	@echo "make fuzz   run every fuzz target for FUZZTIME (default 30s) each"
	@echo "make fuzz-smoke  every fuzz target for FUZZ_SMOKE (default 3s) each, the last step of make test"

# deps: Go modules and the Debian packages the project needs (as root only;
# otherwise the missing package names are printed).
deps:
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.23 or newer"; exit 1; }
	@$(GO) mod download
	@command -v npm >/dev/null || missing_node=1; \
	if [ -n "$${missing_node:-}" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Node.js and npm with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; \
	  else echo "npm is missing (sudo apt-get install nodejs npm)"; exit 1; fi; \
	fi
	@missing=""; for p in $(TEST_DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing with apt-get:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# web: the browser assets built into web/dist, which the binary embeds: the
# expert app (web/app: TypeScript, Vite, MapLibre GL JS, terra-draw) into
# web/dist/app, MapLibre GL JS and the public map script into web/dist/vendor
# and web/dist/embed.js; all from npm (package-lock.json), rebuilt when their
# sources change.
WEB_OUT    := web/dist/app/index.html
$(WEB_OUT): web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json $(wildcard web/scripts/* web/src/* web/app/*.html web/app/src/*)
	@cd web && for try in 1 2 3; do \
	  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund && break; \
	  if [ $$try = 3 ]; then echo "npm ci failed 3 times"; exit 1; fi; \
	  echo "npm ci failed (try $$try of 3; the registry may be flaky), retrying in $$((try * 15)) s"; sleep $$((try * 15)); \
	done
	cd web && npm run build
	@touch $(WEB_OUT)

web: $(WEB_OUT)

$(BIN): $(GO_FILES) $(WEB_OUT)
	$(GO) build -trimpath -ldflags "-X main.Version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o $(BIN) ./cmd/riskzone

build: $(BIN)

db-start: deps $(BIN)
	@$(BIN) db start

db-stop: $(BIN)
	@$(BIN) db stop

migrate: db-start
	@$(BIN) migrate

demo: migrate
	@$(BIN) demo --seed $(DEMO_SEED) --buildings $(DEMO_SIZE) --if-empty

run: demo
	@if [ -z "$${DATABASE_URL:-}" ]; then $(BIN) demo logins >/dev/null; fi
	@echo
	@echo "  riskzone is serving on http://$(ADDR)/"
	@if [ -z "$${DATABASE_URL:-}" ]; then echo "  demo logins (password riskzone-demo): admin, expert, expert2, publisher, publisher2"; \
	else echo "  DATABASE_URL is set: no demo logins were created (riskzone user add makes accounts)"; fi
	@echo
	@$(BIN) serve --addr $(ADDR) --insecure-dev

vet:
	$(GO) vet ./...

# test: go vet, the expert app's unit tests (vitest), then every Go test,
# including the browser suite (server/app_browser_test.go: the stories of
# web/e2e/stories under @playwright/test, with Debian's chromium, no browser
# download).
# The expert app's suite runs last, alone: it measures the app's first
# render against a budget, which other packages' tests running beside it
# on a 2-core machine would make a measurement of them.
test: db-start vet web
	cd web && npm test
	$(GO) test -race -timeout 40m -skip '^TestExpertAppInBrowser$$' ./...
	$(GO) test -race -timeout 10m -run '^TestExpertAppInBrowser$$' ./server
	@cat "$${RISKZONE_SCREENSHOTS:-.data/screenshots/app}/budgets.txt" 2>/dev/null || true
	@$(MAKE) --no-print-directory fuzz-smoke

bench: db-start
	$(GO) test -run '^$$' -bench . -benchmem ./...

# cluster: several replicas on one database, on loopback ports, behind
# nothing (docs/operations.md); REPLICAS and BASE_PORT choose how many and where;
# STANDBYS=1|2 starts that many hot standbys of the managed cluster beside them.
REPLICAS   ?= 3
BASE_PORT  ?= 8081
STANDBYS   ?= 0
cluster: demo
	@REPLICAS=$(REPLICAS) BASE_PORT=$(BASE_PORT) STANDBYS=$(STANDBYS) BIN=$(BIN) scripts/cluster.sh start

cluster-stop:
	@scripts/cluster.sh stop

# fuzz: each fuzz target for FUZZTIME (their seed corpus runs with make test).
FUZZTIME   ?= 30s
# fuzz-smoke: each fuzz target for FUZZ_SMOKE, the last step of make test (CI),
# without minimizing what it finds (a failure is reported as found and kept in
# testdata/fuzz; `make fuzz` or go test -run reproduces it). One instrumented
# test binary per package, run in the package's folder with go test's fuzz
# cache, saves a link per target.
FUZZ_SMOKE ?= 3s
# FUZZ_TARGETS: package:target pairs, every fuzz target of the repository
# (TestMakefileListsEveryFuzzTarget in server keeps it complete).
FUZZ_TARGETS := ./server:FuzzGeometryJSON ./server:FuzzZoneEditPayload ./server:FuzzTilePath ./server:FuzzAddressSearch \
  ./server:FuzzCAPAtomText ./server:FuzzOGCParams ./server:FuzzRuleSetAssignment ./server/lookup:FuzzAddressSearchNames \
  ./server:FuzzProposalBodies ./server:FuzzZoneEditBodies ./server:FuzzNoticeBodies ./server:FuzzCaseBodies ./server:FuzzAdminBodies \
  ./geo/osm:FuzzRead ./geo/geojson:FuzzReader \
  ./zoning:FuzzParseCasesCSV ./zoning:FuzzParseRule ./zoning:FuzzParseEnlargementBounds ./zoning:FuzzLoadTimeZone \
  ./zoning:FuzzParseContactsCSV ./zoning:FuzzParseClosedLoopLimits ./zoning:FuzzParseSites \
  ./server:FuzzOutboundCheck ./tiles:FuzzOriginOf ./zoning/postgis/localpg:FuzzValidStandbyName
fuzz: db-start
	@for pf in $(FUZZ_TARGETS); do p=$${pf%%:*}; f=$${pf##*:}; echo "== $$p $$f"; \
	  $(GO) test $$p -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) || exit 1; done

fuzz-smoke: db-start
	@start=$$(date +%s); bin=$$(mktemp -d); trap 'rm -rf "$$bin"' EXIT; cache=$$($(GO) env GOCACHE)/fuzz; \
	for p in $$(for pf in $(FUZZ_TARGETS); do echo "$${pf%%:*}"; done | sort -u); do \
	  $(GO) test -c -o "$$bin/fuzz.test" -fuzz . "$$p"; imp=$$($(GO) list "$$p"); \
	  for pf in $(FUZZ_TARGETS); do [ "$${pf%%:*}" = "$$p" ] || continue; f=$${pf##*:}; echo "== fuzz-smoke $$p $$f ($(FUZZ_SMOKE))"; \
	    (cd "$$p" && "$$bin/fuzz.test" -test.run '^$$' -test.fuzz "^$$f$$" -test.fuzztime $(FUZZ_SMOKE) \
	      -test.fuzzminimizetime 0 -test.fuzzcachedir "$$cache/$$imp" | grep -v '^fuzz: elapsed') || exit 1; done; \
	done; echo "fuzz-smoke: $(words $(FUZZ_TARGETS)) targets in $$(( $$(date +%s) - start )) s"; \
	echo "fuzz-smoke: $(words $(FUZZ_TARGETS)) passed, 0 failed"

clean:
	rm -rf bin
