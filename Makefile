# Rolegate: `make run` starts the demo, `make test` runs everything CI runs.
# Both build their own virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_PG_URL ?= postgresql+psycopg://127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint test-sqlite test-postgres services chromium bench soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/run_demo.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

services:
	bash scripts/ensure_services.sh

# The browser tests drive Debian's Chromium; Playwright never downloads a browser here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update && $$SUDO apt-get install -y chromium; }

test-sqlite: $(STAMP) chromium
	env -u DATABASE_URL -u REDIS_URL -u TEST_DATABASE_URL -u TEST_REDIS_URL \
		$(BIN)/pytest -q -m "not postgres_only"

# The pages are driven in Chromium once, on the SQLite pass; the PostgreSQL pass still serves every
# page through the route matrix and the page tests over HTTP, and drives the browser tests that need
# its workers (postgres_only, browser_on_postgres).
test-postgres: $(STAMP) services chromium
	TEST_DATABASE_URL=$(TEST_PG_URL) TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest -q -m "not browser or postgres_only or browser_on_postgres"

test: lint test-sqlite test-postgres

bench: $(STAMP) services chromium
	$(BIN)/python -m bench.submit
	$(BIN)/python -m bench.sizes
	$(BIN)/python -m bench.queue
	$(BIN)/python -m bench.apply
	$(BIN)/python -m bench.email
	$(BIN)/python -m bench.manager
	$(BIN)/python -m bench.reminders

# A few minutes of load and faults against gunicorn and workers on PostgreSQL and a private
# Redis (database SOAK_DATABASE, default rolegate_soak, dropped and rebuilt); then the invariants.
soak: $(STAMP) services
	$(BIN)/python -m soak

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
