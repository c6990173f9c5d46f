# Custodian: `make run` serves the site, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install db db-stop migrate demo run test test-fast test-soak lint format clean bench

$(STAMP): pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

db:
	@scripts/pg.sh start

db-stop:
	@scripts/pg.sh stop

migrate: install db
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py setup_demo --url http://$(HOST):$(PORT)/

run: demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	@scripts/serve.sh $(HOST) $(PORT)

test: install db
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install db
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

# Benchmarks against same-run baselines, one table of ratios (bench/run.py). The dataset is built once per
# size into its own database: make bench BENCH_TICKETS=1000000; 10M: BENCH_TICKETS=10000000 BENCH_ORGS=2000.
BENCH_TICKETS ?= 200000
BENCH_ORGS ?= 200
bench: install db
	$(BIN)/python bench/run.py --tickets $(BENCH_TICKETS) --orgs $(BENCH_ORGS) $(BENCH_ARGS)

# The suite SOAK_RUNS times (10) in new random orders beside a CPU load; stops at the first failure.
SOAK_RUNS ?= 10
test-soak: install db
	SOAK_RUNS=$(SOAK_RUNS) scripts/soak.sh $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	-scripts/pg.sh stop
	rm -rf $(VENV) .pg staticfiles
