# Two entry points for a newcomer: `make run` and `make test`. Both create .venv when it is missing and
# install into it from constraints.txt; the stamp file makes a second call a no-op.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# DVC stage commands call `python stages/<name>.py`: make that the venv's python.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test test-fast install lock sample bench quality compare exps clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, by exact version: the CPU wheel lies on these machines, a plain `torch` pulls CUDA.
	$(PIP) install -c constraints.txt torch==2.13.0
	$(PIP) install -c constraints.txt -e '.[test]'
	# mediapipe 0.10.21 carries the segmentation models but pins jax and numpy-2 opencv: no deps.
	# imagebind-unofficial's deps include torchvision/torchaudio, which break the CPU torch: no deps.
	$(PIP) install -c constraints.txt --no-deps mediapipe==0.10.21 imagebind-unofficial==0.1.1
	touch $(STAMP)

# Build the bundled sample (deterministic: it matches data/raw.dvc byte for byte) unless data/raw
# already exists, then run every pipeline stage.
run: $(STAMP)
	@test -d data/raw || $(BIN)/stylecluster sample --out data/raw
	$(BIN)/dvc repro

# Every tier: tests/unit (pure, in-process), tests/integration and tests/badinput (stage scripts and
# the CLI as subprocesses), tests/e2e (dvc in a copy of the project).
test: $(STAMP)
	bash scripts/test-deps.sh
	$(BIN)/python -m pytest -q

# The unit tier alone, one pytest-xdist worker per core (94 s on this 2-core machine, 152 s in one
# process): no dvc, no stage subprocess. Each worker pays UMAP's numba JIT once (about 20 s).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n auto tests/unit

# A grid of DVC experiments over reduce.modality x reduce.method, compared in reports/compare/;
# e.g. make compare COMPARE_ARGS="--fields content,tags,both"
compare: run
	$(BIN)/stylecluster compare $(COMPARE_ARGS)

# `dvc exp show` trimmed to what an analyst compares: the stage params that differ between the
# experiments and the main metrics, as Markdown (a bare `dvc exp show` has ~150 columns).
EXPS_METRICS ?= best_k|has_peak|silhouette|largest_cluster_share|worst_month_top_share|length_skew|nmi|ari
exps: $(STAMP)
	$(BIN)/dvc exp show --md --no-pager --only-changed \
	  --drop '^(?!(Experiment|$(EXPS_METRICS))$$|(segment|preprocess|embed|reduce|select_k|cluster|report)\.)' \
	  --keep '^(Experiment|$(EXPS_METRICS))$$'

# Speed and memory of every heavy step against the naive way, measured in the same run
# (reports/bench/bench.json and bench.md); benchmarks are not tests.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# How well the pipeline recovers known groupings on labelled sets (benchmarks/quality/*.yaml):
# reports/quality/quality.json and quality.md; e.g. make quality QUALITY_ARGS="--sets sample"
quality: $(STAMP)
	$(BIN)/python benchmarks/quality.py $(QUALITY_ARGS)

sample: $(STAMP)
	$(BIN)/stylecluster sample --out data/raw

# Re-resolve the pins after changing pyproject.toml (needs the package registries).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q torch==2.13.0
	.venv-lock/bin/python -m pip install -q '.[test]'
	.venv-lock/bin/python -m pip freeze --exclude stylecluster | sed 's/+cpu$$//' > constraints.txt.new
	rm -rf .venv-lock && echo "review constraints.txt.new, add mediapipe and imagebind-unofficial, then move it over constraints.txt"

clean-venv:
	rm -rf $(VENV)
