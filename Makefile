# Backplane. `make help` lists the targets.
GO      ?= go
BIN     := bin/backplane
EXAMPLE ?= examples/shop.yaml
OUT     ?= out
PKGS    := ./...

.DEFAULT_GOAL := help

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

ui: ## install the editor's packages and build it into the binary's embed folder
	cd web/ui && npm ci --no-audit --no-fund && npm run build
	rm -rf web/uiembed/dist && cp -r web/ui/dist web/uiembed/dist

build: ui ## build bin/backplane with the editor in it
	$(GO) build -o $(BIN) ./cmd/backplane

run: build ## build, then serve the editor on 127.0.0.1:8470 (data in ./backplane-data, example project "shop")
	./$(BIN) serve --seed $(EXAMPLE)

render: ## validate and render examples/shop.yaml into out/ (no UI build needed)
	$(GO) build -o $(BIN) ./cmd/backplane
	./$(BIN) validate -f $(EXAMPLE)
	rm -rf $(OUT)
	./$(BIN) render -f $(EXAMPLE) --out $(OUT)

test: ui ## run every test: Go (real-agent and browser suites skip when their binary is missing) and the editor's
	cd web/ui && npm test
	$(GO) test -count=1 -timeout 45m $(PKGS)

test-integration: ## run the real-agent suites, failing when an agent binary is missing
	REQUIRE_AGENTS=1 $(GO) test -count=1 -v ./test/...

golden: ## rewrite the translator's golden files (review the diff)
	$(GO) test ./translator -run TestGolden -update

bench: ## run the benchmarks (compare runs with benchstat)
	$(GO) test -run '^$$' -bench . -benchmem -count 6 -cpu 1 ./translator/ | tee bench.txt

bench-deploy: ## deploy benchmarks against a real Nomad dev agent (needs nomad on PATH)
	$(GO) test -run '^$$' -bench . -benchtime 3x -count 1 -timeout 30m ./test/ | tee bench-deploy.txt

bench-alerts: ## alert benchmarks against a real Alertmanager (and Nomad for the latency): throughput, failure-to-sink p50/p99
	$(GO) test -run '^$$' -bench 'BridgeThroughput|AlertLatency' -benchtime 20x -count 1 -timeout 20m ./test/ | tee bench-alerts.txt

bench-metrics: ## what sampling a 50-element project costs serve on a real Nomad: Nomad calls, CPU and memory, idle and with 5 editors
	$(GO) test -run '^$$' -bench 'Sampling50' -benchtime 1x -count 1 -timeout 20m ./test/ | tee bench-metrics.txt

bench-autodeploy: ## a push webhook's way to a running instance on a real Nomad from a real git repo: queue, deploy, registered, answering (medians)
	$(GO) test -run '^$$' -bench 'WebhookDeploy' -benchtime 5x -count 1 -timeout 20m ./test/ | tee bench-autodeploy.txt

bench-builds: ## push to three healthy instances of a small Node.js app, built in every instance vs built once, and a rebuild with a warm cache (needs npm's registry)
	$(GO) test -run '^$$' -bench 'BuildOnce' -benchtime 4x -count 1 -timeout 30m ./test/ | tee bench-builds.txt

fuzz: ## run each fuzz target for FUZZTIME (default 60s)
	$(GO) test ./schema -run '^$$' -fuzz FuzzDecode -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./translator -run '^$$' -fuzz FuzzTranslate -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./templates -run '^$$' -fuzz FuzzEnvLine -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./observe/logship -run '^$$' -fuzz FuzzSplitLine -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./observe/logship -run '^$$' -fuzz FuzzTailConsume -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./observe/alerts -run '^$$' -fuzz FuzzMerge -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./cmd/backplane -run '^$$' -fuzz FuzzUntarGz -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./autodeploy -run '^$$' -fuzz FuzzParseHook -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./autodeploy -run '^$$' -fuzz FuzzNormalizeRepo -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./store/artifacts -run '^$$' -fuzz FuzzValidKey -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./web -run '^$$' -fuzz FuzzLocalPaths -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s
	$(GO) test ./schema/compose -run '^$$' -fuzz FuzzImport -fuzztime $(or $(FUZZTIME),60s) -fuzzminimizetime 2s

lint: check-deps ## gofmt, go vet and the import rules
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)

check-deps: ## keep schema, templates and translator free of the cluster side
	@./scripts/check-deps.sh

.PHONY: help ui build run render test test-integration golden bench bench-deploy bench-alerts bench-metrics bench-autodeploy bench-builds fuzz lint check-deps
