# The README's two commands are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench bench-store bench-hostile bench-decisions demo probe load-light load-medium load-heavy load-stress venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/ion-run

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.gateway

bench-hostile: $(STAMP)
	$(BIN)/python -m bench.hostile heads --connections 8 --seconds 12
	$(BIN)/python -m bench.hostile slow --connections 1200 --seconds 25

bench-store: $(STAMP)
	$(BIN)/python -m bench.store

bench-decisions: $(STAMP)
	$(BIN)/python -m bench.decisions

demo: $(STAMP)
	$(BIN)/ion-demo

probe: $(STAMP)
	$(BIN)/ion-probe

LOCUST_HOST ?= http://127.0.0.1:8080
load-light load-medium load-heavy load-stress: $(STAMP)
	$(BIN)/python -m loadtest.run $(subst load-,,$@) --host $(LOCUST_HOST)

clean:
	rm -rf $(VENV) build dist *.egg-info .run
