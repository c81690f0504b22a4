# Ferry's build. Static binaries and images are built with CGO_ENABLED=0;
# tests run with -race, which needs cgo, so CGO is left alone there.
GO          ?= go
BIN         ?= bin
DATA_DIR    ?= .ferry
TEST_TIMEOUT ?= 45m
# test-stress: the suites that must not flake (issue 11), how often each
# test runs, and the per-package timeout for that many runs under load.
STRESS_PKGS    := ./runner/... ./daemon/... ./web/...
STRESS_COUNT   ?= 10
STRESS_TIMEOUT ?= 3h
CONNECTORS  := $(notdir $(wildcard connectors/*))
PROTOC_GEN_GO_VERSION := v1.36.12
# staticcheck 2025.1.1: the module proxy knows it only by its semver, v0.6.1
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.6.1

.PHONY: all build connectors images test test-stress compose-test kube-bin kube-test bench bench-sync run proto lint clean soak

all: build connectors

## build: the static ferry binary in bin/ferry
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/ferry ./cmd/ferry

## connectors: every reference connector as a local binary in bin/connectors/,
## with a <name>.labels.json sidecar holding the labels its image carries
connectors:
	@mkdir -p $(BIN)/connectors
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/connectors/ $(addprefix ./connectors/,$(CONNECTORS))
	@for c in $(CONNECTORS); do \
		if [ -f connectors/$$c/ipc-options.json ]; then \
			ipc=$$(tr -d '\n' < connectors/$$c/ipc-options.json | sed 's/\\/\\\\/g; s/"/\\"/g'); \
			printf '{"io.ferry.connector":"%s","io.ferry.ipc-options":"%s"}\n' $$c "$$ipc" > $(BIN)/connectors/$$c.labels.json; \
		fi; \
	done

## images: every connector image FROM scratch, tagged ferry/<name>:dev, and
## ferry/relay:dev, bridged mode's relay (./cmd/ferry-relay)
images:
	scripts/build-images.sh $(CONNECTORS) relay

## test: the whole suite, with the race detector. Docker tests skip without
## an engine unless FERRY_REQUIRE_DOCKER=1.
test:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

## test-stress: go test -race -count=$(STRESS_COUNT) over the runner, daemon
## and web packages while two busy loops (sha256sum /dev/zero) load both
## cores, then a summary: every failing test and how often it failed. A
## test that depends on timing fails here. Long, so .ci/run leaves it out.
## The loops are killed however the recipe ends (pass, fail, Ctrl-C): go
## test runs in the foreground, so a Ctrl-C reaches it and its test
## binaries directly, and the shell's trap ends the loops once it returns.
test-stress:
	@out=$$(mktemp); loops=; \
	trap 'kill $$loops 2>/dev/null; rm -f "$$out" "$$out.rc"' EXIT; \
	trap 'exit 130' INT; trap 'exit 143' TERM; \
	for i in 1 2; do sha256sum /dev/zero >/dev/null & loops="$$loops $$!"; done; \
	echo "test-stress: busy loops$$loops on $$(nproc) cores; go test -race -count=$(STRESS_COUNT) $(STRESS_PKGS)"; \
	{ $(GO) test -race -count=$(STRESS_COUNT) -timeout $(STRESS_TIMEOUT) $(STRESS_PKGS); echo $$? >"$$out.rc"; } 2>&1 | tee "$$out"; \
	rc=$$(cat "$$out.rc" 2>/dev/null || echo 130); \
	if [ "$$rc" = 0 ]; then \
		echo "test-stress: PASS: every test passed $(STRESS_COUNT) of $(STRESS_COUNT) runs under load"; \
	else \
		echo "test-stress: FAIL (go test exit $$rc); failed runs per test:"; \
		grep -E '^ *--- FAIL: ' "$$out" | sed -E 's/^ *--- FAIL: ([^ ]+).*/\1/' | sort | uniq -c | sort -rn; \
		grep -E '^(FAIL[[:space:]]|panic:)' "$$out"; \
		exit 1; \
	fi

## compose-test: Ferry under docker-compose: up, the demo sync through the
## API (scripts/sync.sh), down. Needs a Docker engine and docker-compose.
compose-test: build images
	scripts/compose-test.sh

## kube-bin: the test cluster's binaries (kube-apiserver,
## kube-controller-manager, kube-scheduler, kubelet, etcd) built from
## test/kube's pinned modules into a cache outside the clone
## (FERRY_KUBE_CACHE, default ~/.cache/ferry-kube); cold about 15 minutes
kube-bin:
	scripts/kube-bin.sh

## kube-test: a real single-node Kubernetes cluster (a second containerd,
## etcd, apiserver, controller manager, scheduler, kubelet) started,
## loaded with the connector images, tested (test/kube's smoke test,
## runner/kube) and torn down, failing if anything is left behind. Needs
## root, Docker's containerd and Debian's containernetworking-plugins.
kube-test: images
	scripts/kube-test.sh

## soak: scenario 12, not part of `make test`: ferry serve on Docker with
## 50 connections on a 1-minute cron for 10 minutes (SOAK_MINUTES) at the
## default worker limit, 4 API readers; it ends with one line
## `soak: <jobs> jobs, <lost> lost, <overlaps> overlaps, <leaked> leaked
## containers, RSS max <MiB>, API p50 <ms> p99 <ms>` and fails if anything
## was lost, overlapped or leaked. SOAK_IMAGE picks the connector image.
soak: build images
	FERRY_BIN=$(BIN)/ferry $(GO) run ./scripts/soak

## bench: codec micro-benchmarks in MB/s
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./protocol/...

## bench-sync: Ferry's data paths, the plain joins and the peer (Benthos,
## built from the separate module in bench/) on the same records, runs
## interleaved; CPU-seconds per 1M records first, wall time second. Not in
## CI. BENCH_RECORDS sizes the main runs; BENCH_SCALE_RECORDS and
## BENCH_SCALE_SIZES the scaling rows (e.g. 100000,1000000,5000000 and
## 50,5000); BENCH_RUNTIMES=local skips Docker; BENCH_TAG is the image tag
## the Docker paths use (built here); BENCH_ONLY keeps the paths whose
## names contain one of its |-separated strings.
BENCH_RECORDS       ?= 1000000
BENCH_REPS          ?= 2
BENCH_RUNTIMES      ?= local,docker
BENCH_SOCKETS       ?= 2,8
BENCH_SCALE_RECORDS ?= 100000,1000000,5000000
BENCH_SCALE_SIZES   ?= 50,5000
BENCH_TAG           ?= dev
BENCH_ONLY          ?=
bench-sync: build connectors
	@if echo "$(BENCH_RUNTIMES)" | grep -q docker && docker info >/dev/null 2>&1; then \
		TAG=$(BENCH_TAG) scripts/build-images.sh $(CONNECTORS) sockbench=./scripts/sockbench; fi
	cd bench && CGO_ENABLED=0 $(GO) build -trimpath -o ../$(BIN)/bench .
	$(BIN)/bench -root . -records $(BENCH_RECORDS) -reps $(BENCH_REPS) -runtimes $(BENCH_RUNTIMES) \
		-sockets $(BENCH_SOCKETS) -scale-records "$(BENCH_SCALE_RECORDS)" -scale-sizes "$(BENCH_SCALE_SIZES)" -tag $(BENCH_TAG) -only "$(BENCH_ONLY)"

## run: build Ferry and the connectors (and their images when Docker
## answers), then ferry serve on $(DATA_DIR): the demo connection syncs at once
run: build connectors
	DATA_DIR=$(DATA_DIR) scripts/run-serve.sh

## proto: regenerate protocol/pb from its .proto (needs protoc; CI does not)
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc --proto_path=protocol/pb --go_out=protocol/pb --go_opt=paths=source_relative protocol/pb/*.proto

## lint: gofmt, go vet, the docs/protocol.md citations in comments, and
## staticcheck when it installs
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@sh scripts/check-doc-citations.sh -q .
	@if $(GO) run $(STATICCHECK) -version >/dev/null 2>&1; then \
		$(GO) run $(STATICCHECK) ./...; \
	else echo "staticcheck not available from the module proxy; skipped"; fi

clean:
	rm -rf $(BIN)
