# The two commands: `make demo` and `make test`. Both bootstrap .venv from this repository's files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_DATA_DIR ?= var/demo

FUZZ_SECONDS ?= 300

.PHONY: test demo dashboard venv system-deps lint bench fuzz clean soak

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash .ci/system-deps

AXE    := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility checks (Debian: apt-get install npm)"; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@touch $(AXE)

PYTEST_ARGS ?= -n 2 --dist loadfile

test: system-deps venv $(AXE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A year for 40 institutions through the real processes, faults drawn from a seed (a few minutes); a failure
# names its seed: FKO_SOAK_SEED=N make soak replays it. (`make test` plays a short round of the same kind.)
soak: system-deps venv
	$(BIN)/python -m pytest tests/soak -m soak -p no:cacheprovider

demo: system-deps venv
	FKO_DATA_DIR=$(DEMO_DATA_DIR) $(BIN)/fko demo

# After `make demo`: the Prefect dashboard (deployments served) and `fko portal` (staff area /intern/) on the
# kept demo data; Ctrl+C stops both.
dashboard: venv
	FKO_DATA_DIR=$(DEMO_DATA_DIR) $(BIN)/python -m cli.demo_run dashboard

bench: system-deps venv
	$(BIN)/python -m bench.run_all

fuzz: venv
	$(BIN)/python fuzz/reader.py -max_total_time=$(FUZZ_SECONDS)

lint: venv
	$(BIN)/ruff check core storage mail portal usecases flows cli tests bench fuzz
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
