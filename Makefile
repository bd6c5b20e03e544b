# Everything a newcomer or CI needs: `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_MODULES := browser/node_modules/.installed

.PHONY: install demo serve test test-slow lint format bench sdk sdk-check

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
test: install $(NODE_MODULES)
	bash .ci/ensure-postgres
	bash .ci/ensure-chromium
	$(BIN)/pytest -m "not slow"

test-slow: install
	bash .ci/ensure-postgres
	$(BIN)/pytest -m slow

lint: install sdk-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# parcours.js (browser/, TypeScript) is built by esbuild into engine/browser_sdk/ and committed,
# so a pip install needs no Node. `make sdk` rebuilds it; `make sdk-check` type-checks and fails
# when the shipped file differs from a fresh build.
$(NODE_MODULES): browser/package-lock.json
	bash .ci/ensure-node
	cd browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

sdk: $(NODE_MODULES)
	cd browser && npx --no-install tsc --noEmit -p . && node build.mjs

sdk-check: $(NODE_MODULES)
	cd browser && npx --no-install tsc --noEmit -p . && node build.mjs --check

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	bash .ci/ensure-postgres
	$(BIN)/python benchmarks/ingest.py
