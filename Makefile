# Everything a newcomer or CI needs: `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo serve test test-slow lint format bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# The main job: a simulated SaaS onboarding end to end (SQLite, in-process worker, file outbox).
demo: install
	$(BIN)/parcours demo

serve: install
	$(BIN)/parcours serve

# The suite runs every database test on SQLite and on a private PostgreSQL server.
test: install
	bash .ci/ensure-postgres
	bash .ci/ensure-chromium
	$(BIN)/pytest -m "not slow"

test-slow: install
	bash .ci/ensure-postgres
	$(BIN)/pytest -m slow

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	bash .ci/ensure-postgres
	$(BIN)/python benchmarks/ingest.py
