# The newcomer path: `make up` runs everything, `make test` passes every test.
# Both create .venv and install what is missing, so they work on a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := frontend/node_modules/.installed
PG15_BIN ?= /usr/lib/postgresql/15/bin
# The database tests run a second time on PostgreSQL 15: the server PG15_URL names (CI's
# service container on GitHub), else Debian's binaries when present.
DB_TESTS := tests/sql tests/api tests/live tests/fuzz tests/test_migrations.py

.PHONY: install dashboard browser up test lint pytest test-pg15 test-frontend bench fmt clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

install: $(STAMP) $(NPM_STAMP)

# The built dashboard `pulse up` serves; rebuilt when any of its sources change.
DIST := frontend/dist/index.html
FRONTEND_SRC := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/package.json

$(DIST): $(NPM_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run build

dashboard: $(DIST)

up: install $(DIST)
	PULSE_DEMO=$${PULSE_DEMO:-true} $(BIN)/pulse up

test: install lint test-frontend pytest test-pg15

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ingest_api analytics bench tests streamlit_app
	$(BIN)/lint-imports
	@# Dead code; what a framework calls by registration (routes, commands, validators,
	@# fixtures) and the ORM tables `alembic check` compares are not dead.
	$(BIN)/vulture ingest_api analytics bench tests streamlit_app vulture_whitelist.py \
		--exclude ingest_api/models.py,ingest_api/migrations \
		--ignore-decorators "@*.get,@*.post,@*.delete,@*.websocket,@*.exception_handler,@*.command,@*.callback,@field_validator,@model_validator,@computed_field,@pytest.fixture"
	@command -v shellcheck >/dev/null || echo "shellcheck not found: actionlint skips run: scripts (apt-get install shellcheck)"
	$(BIN)/actionlint
	$(BIN)/hadolint Dockerfile
	@# The Compose binary itself (its pip console script always exits 0); required secrets get
	@# placeholders, as the file refuses to resolve without them.
	POSTGRES_PASSWORD=lint PULSE_INGEST_TOKEN=lint \
		"$$($(BIN)/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')" \
		-f docker-compose.yml config -q

# The dashboard: its tests, lint and build, and its typed client against the API's document.
test-frontend: install
	@$(BIN)/pulse openapi > frontend/.openapi.current.json
	@cmp -s frontend/.openapi.current.json frontend/openapi.json || { \
		echo "frontend/openapi.json is stale: run '$(BIN)/pulse openapi > frontend/openapi.json'" \
		"then 'cd frontend && npm run gen:api', and commit both"; \
		rm -f frontend/.openapi.current.json; exit 1; }
	@rm -f frontend/.openapi.current.json
	cd frontend && npm run check:api && npm run lint && npm test && npm run build

# The dashboard's end-to-end tests drive Debian's Chromium (installed here when run as root).
browser:
	@[ -n "$$PULSE_CHROMIUM" ] || command -v chromium >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "== installing Chromium for the dashboard's browser tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
		else \
			echo "The dashboard's browser tests need Chromium: apt-get install chromium," \
				"or set PULSE_CHROMIUM to a Chromium binary"; exit 1; \
		fi; }

# Two workers: most tests wait on servers and subprocesses, so two share the cores well (each
# worker has its own embedded PostgreSQL and temporary folders).
PYTEST_WORKERS ?= 2

pytest: install browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) --cov --cov-report=term:skip-covered --durations=15

test-pg15: install
	@if [ -n "$$PG15_URL" ]; then \
		echo "== database tests on PostgreSQL 15 (PG15_URL)"; \
		TEST_DATABASE_URL="$$PG15_URL" $(BIN)/pytest -q -n $(PYTEST_WORKERS) $(DB_TESTS); \
	elif [ -x $(PG15_BIN)/postgres ]; then \
		echo "== database tests on PostgreSQL 15 ($(PG15_BIN))"; \
		PULSE_TEST_PG_BIN=$(PG15_BIN) $(BIN)/pytest -q -n $(PYTEST_WORKERS) $(DB_TESTS); \
	else \
		echo "PostgreSQL 15 binaries not found at $(PG15_BIN): skipping the PG 15 pass"; \
	fi

# BENCH_SIZE=10m for the ten-million-run history (loading it takes about an hour on 2 cores).
BENCH_SIZE ?= 1m

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.summary --size $(BENCH_SIZE)
	$(BIN)/python -m bench.live
	$(BIN)/python -m bench.history --size $(BENCH_SIZE)
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.streamlit --size $(BENCH_SIZE)
	$(BIN)/python -m bench.faults
	$(BIN)/python -m bench.scale
	$(BIN)/python -m bench.bulk

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage frontend/node_modules frontend/dist
