# padim — common tasks. `make help` lists them.
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
# The main run is CGO_ENABLED=0, as the release binaries are built; the
# race detector's run needs cgo and so covers purego's cgo path too.
test: vet cross
	CGO_ENABLED=0 $(GO) test -count=1 -timeout 40m ./...
	PADIM_BLAS=gonum $(GO) test -count=1 -timeout 20m ./internal/... ./padim/...
	$(GO) test -count=1 -timeout 20m -race -short $(RACE_PKGS)

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
	$(GO) test -run '^$$' -fuzz FuzzSafetensors -fuzztime $(FUZZTIME) ./internal/statedict
	$(GO) test -run '^$$' -fuzz FuzzNpyRead -fuzztime $(FUZZTIME) ./internal/npy
	$(GO) test -run '^$$' -fuzz FuzzNpyRoundTrip -fuzztime $(FUZZTIME) ./internal/npy
	$(GO) test -run '^$$' -fuzz FuzzModelFile -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./padim
	$(GO) test -run '^$$' -fuzz FuzzDecodeImage -fuzztime $(FUZZTIME) ./datasets

PYTHON ?= /usr/bin/python3
fixtures:
	@for s in scripts/*_fixtures.py scripts/stc_fixture.py; do echo "== $$s"; $(PYTHON) $$s || exit 1; done

clean:
	rm -rf bin dist
