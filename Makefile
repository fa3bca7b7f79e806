# padim — common tasks. `make help` lists them.
SHELL     := /bin/bash
GO        ?= go
PADIM     := bin/padim
PADIM_DATA ?= $(abspath ../shared/data)
export PADIM_DATA
# Packages that start goroutines; tested again under the race detector.
RACE_PKGS := ./internal/... ./padim/... ./spade/... ./eval/... ./experiments/... ./backbones/...

# Release targets: `make dist` and `make cross` build these with CGO_ENABLED=0.
DIST_TARGETS := linux/amd64 linux/arm64 darwin/arm64
DIST_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
DIST_LDFLAGS := -s -w -X main.releaseVersion=$(DIST_VERSION)

.PHONY: help build test test-purego test-race vet cross dist bench reproduce reproduce-quick fetch fuzz fixtures clean

help:
	@echo "make build            build bin/padim (loads OpenBLAS at run time if installed, else pure Go)"
	@echo "make test             vet + cross-builds + all tests (OpenBLAS) + gonum fallback tests + race detector"
	@echo "make dist             release binaries for $(DIST_TARGETS) + SHA256SUMS -> dist/"
	@echo "make cross            check that every release target (and build tag) still compiles"
	@echo "make bench            backbone and end-to-end benchmarks -> reports/bench*.md"
	@echo "make reproduce        regenerate the paper's tables and figures -> reports/"
	@echo "make reproduce-quick  the same, quick variants (minutes)"
	@echo "make fetch            download MVTec AD and the ImageNet weights (needs internet)"
	@echo "make fuzz             run every fuzzer for FUZZTIME (default 60s each)"
	@echo "make fixtures         regenerate the PyTorch/PIL/scipy reference fixtures (needs python3-torch)"

build:
	$(GO) build -o $(PADIM) ./cmd/padim

vet:
	$(GO) vet ./...
	$(GO) vet -tags purego ./...

# Compile every release target and build variant, so none rots; writes nothing.
cross:
	@set -e; for t in $(DIST_TARGETS); do \
	  echo "cross: $$t"; \
	  CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o /dev/null ./cmd/padim; \
	done
	CGO_ENABLED=0 $(GO) build -tags purego -o /dev/null ./cmd/padim

# Release binaries: padim-OS-ARCH loads OpenBLAS/MKL/Accelerate at run time
# (it needs only the system's C library and dynamic loader); the Linux
# *-static variants (build tag purego) use gonum alone and run anywhere,
# including musl and scratch containers.
dist:
	rm -rf dist && mkdir -p dist
	@set -e; for t in $(DIST_TARGETS); do \
	  os=$${t%/*}; arch=$${t#*/}; \
	  echo "dist: padim-$$os-$$arch"; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags="$(DIST_LDFLAGS)" -o dist/padim-$$os-$$arch ./cmd/padim; \
	  if [ $$os = linux ]; then \
	    echo "dist: padim-$$os-$$arch-static"; \
	    CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -tags purego -ldflags="$(DIST_LDFLAGS)" -o dist/padim-$$os-$$arch-static ./cmd/padim; \
	  fi; \
	done
	cd dist && { sha256sum padim-* 2>/dev/null || shasum -a 256 padim-*; } > SHA256SUMS && cat SHA256SUMS

# The README's test command. CI runs it through .ci/run.
# Every pass goes through gotestcheck, which prints what go test would and
# lists each skipped test with its reason. Under CI (CI=true) a skip fails the
# run unless it names a CPU feature this machine lacks ("on this CPU"), or is
# a -short skip in a -short pass: a test that needs data, a service or a tool
# must not silently not run there.
TESTCHECK := bin/gotestcheck
SKIPS_FULL  := $(if $(filter-out false 0,$(CI)),-no-skips -allow 'on this CPU')
# The purego pass also accepts the skips of the assembly tests: that build has none.
SKIPS_PUREGO := $(if $(filter-out false 0,$(CI)),-no-skips -allow 'on this CPU|no assembly kernels in this build')
SKIPS_SHORT := $(if $(filter-out false 0,$(CI)),-no-skips -allow 'on this CPU|^[^ ]*: -short|skipped with -short')

$(TESTCHECK): internal/cmd/gotestcheck/main.go
	$(GO) build -o $@ ./internal/cmd/gotestcheck

#
# The passes: everything as the release binaries are built (CGO_ENABLED=0,
# BLAS loaded at run time, assembly kernels); the numeric packages again with
# -tags purego (gonum and the pure-Go kernels); the race detector (which needs
# cgo) on every package that starts goroutines. `cross` compiles every
# release target first.
test: vet cross $(TESTCHECK)
	set -o pipefail; CGO_ENABLED=0 $(GO) test -json -count=1 -timeout 40m ./... | $(TESTCHECK) $(SKIPS_FULL)
	set -o pipefail; CGO_ENABLED=0 $(GO) test -json -count=1 -timeout 20m -tags purego ./internal/... ./padim/... | $(TESTCHECK) $(SKIPS_PUREGO)
	set -o pipefail; $(GO) test -json -count=1 -timeout 20m -race -short $(RACE_PKGS) | $(TESTCHECK) $(SKIPS_SHORT)

test-purego:
	$(GO) test -count=1 -tags purego ./...

test-race:
	$(GO) test -count=1 -race -short $(RACE_PKGS)

bench: build
	$(PADIM) bench backbones --out reports/bench-backbones.md
	$(PADIM) bench end-to-end --out reports/bench.md
	$(PADIM) bench memory --out reports/memory

reproduce: build
	$(PADIM) reproduce --data "$(PADIM_DATA)" --out reports

reproduce-quick: build
	$(PADIM) reproduce --quick --data "$(PADIM_DATA)" --out reports/quick

fetch: build
	$(PADIM) fetch weights resnet18
	$(PADIM) fetch weights wide_resnet50_2
	$(PADIM) fetch weights efficientnet_b5
	$(PADIM) fetch mvtec

FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzPth -fuzztime $(FUZZTIME) ./internal/statedict
	$(GO) test -run '^$$' -fuzz FuzzSafetensors -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./internal/statedict
	$(GO) test -run '^$$' -fuzz FuzzNpyRead -fuzztime $(FUZZTIME) ./internal/npy
	$(GO) test -run '^$$' -fuzz FuzzNpyRoundTrip -fuzztime $(FUZZTIME) ./internal/npy
	$(GO) test -run '^$$' -fuzz FuzzModelFile -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./padim
	$(GO) test -run '^$$' -fuzz FuzzDecodeImage -fuzztime $(FUZZTIME) ./datasets

PYTHON ?= /usr/bin/python3
fixtures:
	@for s in scripts/*_fixtures.py scripts/stc_fixture.py; do echo "== $$s"; $(PYTHON) $$s || exit 1; done

clean:
	rm -rf bin dist
