# Bastion. The README's two commands: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DATA    ?= $(CURDIR)/.bastion
PORT    ?= 8080
PYTEST  := $(BIN)/python -m pytest -n 2 -p no:cacheprovider

export BASTION_DATA_DIR ?= $(DATA)

.PHONY: install run test test-sqlite test-postgres lint format bench services clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make run: install, initialise ./.bastion, apply the examples, serve on 127.0.0.1:8080
run: install
	$(BIN)/bastion init
	$(BIN)/python scripts/bootstrap.py examples
	$(BIN)/bastion serve --host 127.0.0.1 --port $(PORT)

## make test: install, then the whole suite on SQLite and on PostgreSQL, and the import contract
test: install services
	$(BIN)/lint-imports --no-cache
	BASTION_TEST_DB=sqlite $(PYTEST)
	BASTION_TEST_DB=postgres $(PYTEST)

test-sqlite: install
	BASTION_TEST_DB=sqlite $(PYTEST)

test-postgres: install services
	BASTION_TEST_DB=postgres $(PYTEST)

## the servers the tests talk to (already running on the reference machines)
services:
	@scripts/services.sh

lint: install
	$(BIN)/ruff check bastion tests bench scripts
	$(BIN)/ruff format --check bastion tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format bastion tests bench scripts
	$(BIN)/ruff check --fix bastion tests bench scripts

## make bench: webhook executions/s and latency beside a bare Starlette echo, same run
bench: install
	$(BIN)/python bench/webhook.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
