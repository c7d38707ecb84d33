# Dockyard's entry points. Tools run from .venv/bin, so nothing needs activating.
# The infra/setup scripts install what is missing and are quick when nothing is.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c

BIN := .venv/bin
SETUP := infra/setup
TEST_DATABASE_URL ?= postgresql+asyncpg://dockyard:dockyard@127.0.0.1:5432/dockyard_test
# Tests fail, rather than skip, when PostgreSQL or the Docker engine is missing.
TEST_ENV := DOCKYARD_TEST_DATABASE_URL='$(TEST_DATABASE_URL)' DOCKYARD_REQUIRE_ENGINE=1
# Where make run serves the portal (on 127.0.0.1), e.g. make run PORT=8080
PORT ?= 8000
# Extra pytest arguments, e.g. make test PYTEST_ARGS='tests/portal -x'
PYTEST_ARGS ?=

.PHONY: help venv services images lint test bench run clean

help:
	@echo "make run       install, start Docker, then run the portal at http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	@echo "make test      install, start Docker/PostgreSQL/Chromium, lint, run the tests"
	@echo "make lint      ruff, ruff format --check, mypy --strict, import contracts"
	@echo "make bench     the timing runs in tests/benchmarks"
	@echo "make services  make sure the Docker engine (in Swarm mode), PostgreSQL, Chromium and Caddy run"
	@echo "make images    (re)build the demo images on the running engine (make services does too)"
	@echo "make clean     remove .venv and tool caches (var/ with its data stays)"

venv:
	@$(SETUP)/venv.sh

services:
	@$(SETUP)/engine.sh
	@$(SETUP)/postgres.sh
	@$(SETUP)/browser.sh
	@$(SETUP)/proxy.sh

images:
	@infra/demo-app/build.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: venv services lint
	$(TEST_ENV) $(BIN)/pytest -m "not benchmark" $(PYTEST_ARGS)

bench: venv services
	$(TEST_ENV) $(BIN)/pytest -m benchmark -p no:randomly -s tests/benchmarks

# The portal and its worker in one process, on SQLite in var/ and the local engine, with a
# demo operator (infra/setup/demo.sh prints how to sign in). Needs root on a fresh machine.
run: export DOCKYARD_BASE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	@$(SETUP)/engine.sh
	@$(SETUP)/proxy.sh
	@PORT=$(PORT) $(SETUP)/demo.sh
	@exec $(BIN)/dockyard serve --with-worker --port $(PORT)

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
