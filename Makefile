# The newcomer path: `make up` runs everything, `make test` passes every test.
# Both create .venv and install what is missing, so they work on a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG15_BIN ?= /usr/lib/postgresql/15/bin
# The database tests run a second time on PostgreSQL 15 when its binaries are present.
DB_TESTS := tests/sql tests/api tests/live tests/test_migrations.py

.PHONY: install up test lint pytest test-pg15 bench fmt clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

up: install
	PULSE_DEMO=$${PULSE_DEMO:-true} $(BIN)/pulse up

test: install lint pytest test-pg15

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ingest_api analytics bench tests

pytest: install
	$(BIN)/pytest --cov --cov-report=term:skip-covered

test-pg15: install
	@if [ -x $(PG15_BIN)/postgres ]; then \
		echo "== database tests on PostgreSQL 15 ($(PG15_BIN))"; \
		PULSE_TEST_PG_BIN=$(PG15_BIN) $(BIN)/pytest -q $(DB_TESTS); \
	else \
		echo "PostgreSQL 15 binaries not found at $(PG15_BIN): skipping the PG 15 pass"; \
	fi

# BENCH_SIZE=10m for the ten-million-run history (about half an hour on 2 cores).
BENCH_SIZE ?= 1m

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.summary --size $(BENCH_SIZE)
	$(BIN)/python -m bench.live

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
