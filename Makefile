# Two commands for a fresh machine: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export LETTERLOCK_MLS_VECTORS ?= ../shared/vectors/mls
export LETTERLOCK_HPKE_VECTORS ?= ../shared/vectors/hpke

.PHONY: run test lint typecheck unit conformance clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The main job: the delivery server on its embedded default (SQLite in the data directory).
run: $(VENV)/.installed
	$(VENV)/bin/letterlock serve

test: lint typecheck unit

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/lint-imports

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy src tests

unit: $(VENV)/.installed
	$(VENV)/bin/pytest -q -p no:cacheprovider

conformance: $(VENV)/.installed
	$(PY) -m letterlock.mls.conformance

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
