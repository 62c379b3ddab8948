# sleepbench — the two commands a user needs are `make bench` and `make test`.
#
# The matrix backend is chosen at build time. The default is the project's
# own GEMM (pure Go with AVX-512/AVX2 kernels in Go assembly, no cgo): on
# the 2-core machine this was measured on it trains 2-4x faster than
# OpenBLAS (see README, "Speed"). BACKEND=openblas builds against Debian's
# libopenblas-dev instead (cgo).

PROFILE ?= default
OUT     ?= out/$(PROFILE)
JOBS    ?= 2
ARGS    ?=

BACKEND ?= go
ifeq ($(BACKEND),openblas)
  TAGS := -tags openblas
  export CGO_ENABLED := 1
  export CGO_LDFLAGS := -lopenblas
else
  TAGS :=
endif

BIN := bin/sleepbench

.PHONY: all build bench test test-big test-slurm test-kill data perf reference vet fmt clean backend fuzz

all: build

backend:
	@echo "sleepbench: matrix backend = $(BACKEND)"

build: backend
	go build $(TAGS) -o $(BIN) ./cmd/sleepbench

# Runs the protocols of the profile and prints the tables.
# With several jobs, each run is single-threaded: OpenBLAS must not start
# its own thread pool per run on top (it would oversubscribe the cores).
bench: build
	$(if $(filter-out 1,$(JOBS)),OPENBLAS_NUM_THREADS=1 )$(BIN) run -profile $(PROFILE) -out $(OUT) -jobs $(JOBS) $(ARGS)
	$(BIN) tables $(OUT)

# Unit tests, gradient checks, determinism, data-format checks (about a
# minute). The heavy full-size step of bert-base and gpt2-medium is in
# test-big.
test: backend
	go vet $(TAGS) ./...
	go test $(TAGS) -short -count=1 ./...

# Fuzz campaign (not part of test): each fuzz target for FUZZTIME (default
# 10m), one after another, with FUZZ_WORKERS processes (default 1); prints
# executions per target and fails if any target does. FUZZ_TARGETS picks
# some by name. The seed corpora already run as tests in make test.
fuzz:
	scripts/fuzz.sh

# One full training step of bert-base and gpt2-medium (batch 1, full
# context), printing peak memory; several minutes on 2 cores.
test-big: backend
	go test $(TAGS) -count=1 -run TestBigConfigs -v ./models/

# A real single-node Slurm cluster on this machine (root; installs
# Debian's slurm-wlm and munge): the quick profile as a 4-task job array,
# a dependent merge job, compared with an unsharded run. See docs/CLUSTER.md.
test-slurm:
	scripts/test-slurm.sh

# SIGKILLs quick-profile runs at 10 random moments, reruns each until it
# finishes, and compares every result file byte for byte with an
# uninterrupted run (scripts/killtest.sh; a few minutes on 2 cores).
test-kill: build
	BIN=$(BIN) scripts/killtest.sh

# Rebuilds datasets/data from the source packages (the only target that fetches).
data: build
	$(BIN) data build -out datasets/data

# Training speed, Go against PyTorch on this machine (Debian python3-torch).
# With libopenblas-dev installed it also measures the OpenBLAS build.
OPENBLAS_HEADER := $(wildcard /usr/include/x86_64-linux-gnu/cblas.h /usr/include/cblas.h /usr/include/openblas/cblas.h)
perf: build
	go test $(if $(OPENBLAS_HEADER),-tags openblas) -run '^$$' -bench 'Sgemm|Kernels' -benchtime 3x ./models/gemm/
	$(BIN) perf
ifneq ($(OPENBLAS_HEADER),)
	CGO_ENABLED=1 CGO_LDFLAGS=-lopenblas go build -tags openblas -o bin/sleepbench-openblas ./cmd/sleepbench
	bin/sleepbench-openblas perf
endif

# Regenerates the CI reference scores on purpose.
reference: build
	rm -rf out/reference
	$(if $(filter-out 1,$(JOBS)),OPENBLAS_NUM_THREADS=1 )$(BIN) run -profile quick -out out/reference -jobs $(JOBS)
	$(BIN) tables out/reference
	cp out/reference/scores.json results/reference/quick.json

vet:
	go vet $(TAGS) ./...

fmt:
	gofmt -l -w .

clean:
	rm -rf bin out

# Rebuilds the base checkpoints from the general corpus: for each model,
# models/base/<model>.safetensors (BF16) and <model>.manifest.json, at the
# model's default budget (bench.PretrainDefaults). The same machine and
# backend give the same bytes. PRETRAIN_ARGS adds flags to every model
# (e.g. PRETRAIN_ARGS='-threads 1'); see sleepbench pretrain -h.
PRETRAIN_MODELS ?= custom gpt2-mini bert-mini
PRETRAIN_ARGS   ?=

.PHONY: pretrain
pretrain: build
	@for m in $(PRETRAIN_MODELS); do \
		echo "$(BIN) pretrain -model $$m -out models/base $(PRETRAIN_ARGS)"; \
		$(BIN) pretrain -model $$m -out models/base $(PRETRAIN_ARGS) || exit 1; \
	done
