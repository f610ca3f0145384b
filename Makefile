# Two commands matter: `make run` (the whole stack on the simulator) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FEED ?= simulator

.PHONY: setup run test test-unit test-integration test-e2e lint fmt bench clean

setup: $(STAMP)

$(STAMP): requirements/runtime.txt requirements/dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: setup
	FEED=$(FEED) $(if $(filter replay,$(FEED)),CLOCK=$${CLOCK:-feed}) $(BIN)/fo-stack

test: setup
	$(BIN)/python -m pytest -q

test-unit: setup
	$(BIN)/python -m pytest -q tests/unit

test-integration: setup
	$(BIN)/python -m pytest -q tests/integration

test-e2e: setup
	$(BIN)/python -m pytest -q tests/e2e

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# One line per benchmark module; each writes its JSON to bench/results/.
bench: setup
	$(BIN)/python -m bench.analytics
	$(BIN)/python -m bench.tape
	$(BIN)/python -m bench.fanout

clean:
	rm -rf $(VENV) .run .pytest_cache .ruff_cache
