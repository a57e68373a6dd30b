# Sluice build, test and demo targets. `make help` lists them.

GO       ?= go
BIN      := bin/sluice
PKGS     := ./...
# Go test packages run with a timeout well under CI's limit.
TESTFLAGS ?= -timeout 20m

.PHONY: help build test tools lint fuzz demo bench bench-oci bench-bundle clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/sluice
	$(GO) build -o $(BIN) ./cmd/sluice

tools: tools/node_modules/.bin/verdaccio ## install the pinned JavaScript tools the tests run (Verdaccio, yarn, pnpm)

tools/node_modules/.bin/verdaccio: tools/package.json tools/package-lock.json
	npm ci --prefix tools --no-audit --no-fund
	@touch $@

test: tools ## run every test against real Verdaccio, npm, yarn and pnpm on loopback
	$(GO) test $(TESTFLAGS) $(PKGS)

lint: ## gofmt and go vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fuzz: ## run each parser fuzz test for FUZZTIME (default 30s)
	$(GO) test ./manifests -run '^$$' -fuzz '^FuzzParseManifest$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./manifests -run '^$$' -fuzz '^FuzzParsePluginRequest$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./manifests/lockfile -run '^$$' -fuzz '^FuzzParsePackageLock$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./manifests/lockfile -run '^$$' -fuzz '^FuzzParseYarnLock$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./manifests/lockfile -run '^$$' -fuzz '^FuzzParseBerryLock$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./manifests/lockfile -run '^$$' -fuzz '^FuzzParsePNPMLock$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./mirrors/harbor -run '^$$' -fuzz '^FuzzNewError$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./mirrors/pin/refs -run '^$$' -fuzz '^FuzzPinDockerfile$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./mirrors/pin/refs -run '^$$' -fuzz '^FuzzPinYAML$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./mirrors/provision -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(or $(FUZZTIME),30s)
	$(GO) test ./mirrors/techdocs -run '^$$' -fuzz '^FuzzPage$$' -fuzztime $(or $(FUZZTIME),30s)

demo: build tools ## sync an example manifest into a local Verdaccio and npm ci from it alone (SERVE=1: open the review page)
	$(GO) run ./internal/demo -upstream "$(UPSTREAM)" $(if $(SERVE),-serve)

bench: build tools ## mirror a ~1000-package lockfile cold and warm, beside npm ci through a pull-through Verdaccio
	$(GO) run ./bench/npmmirror -record-from "$(RECORD_FROM)"

bench-oci: build ## mirror multi-platform images between two loopback registries, beside crane copy and skopeo sync
	$(GO) run ./bench/ocimirror

bench-bundle: build tools ## export and import a bundle of ~1000 packages, beside cp of the same bytes
	$(GO) run ./bench/bundle

clean: ## remove build output
	rm -rf bin
