# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEV := $(VENV)/.installed-dev
STAMP_LOCAL := $(VENV)/.installed-local
STAMP_MUTATION := $(VENV)/.installed-mutation

.PHONY: demo test lint typecheck bench mutate example-build clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The demo runs the example app, whose own dependencies its requirements file lists.
$(STAMP_LOCAL): pyproject.toml examples/state_parks/app/requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[local]' -r examples/state_parks/app/requirements.txt
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP_LOCAL)

$(STAMP_MUTATION): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	touch $@ $(STAMP_DEV) $(STAMP_LOCAL)

demo: $(STAMP_LOCAL)
	$(BIN)/python examples/demo.py

lint: $(STAMP_DEV)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/bandit --quiet --recursive src --severity-level medium

typecheck: $(STAMP_DEV)
	$(BIN)/mypy --strict src mutation

test: lint typecheck
	$(BIN)/python -m pytest -n 2

bench: $(STAMP_DEV)
	$(BIN)/python benchmarks/run.py

# Mutation testing of the security core (docs/testing.md), about 30 minutes on 2 cores;
# not part of `make test`. Some targets only: make mutate TARGETS="context cursor"
mutate: $(STAMP_MUTATION)
	HYPOTHESIS_PROFILE=mutation $(BIN)/python mutation/run.py $(TARGETS)

# Stage the example for `sam deploy` under build/state_parks, with tenantkit as a wheel of
# this checkout; edits no tracked file (examples/state_parks/README.md, "Deploy").
example-build: | $(BIN)/python
	$(BIN)/python examples/state_parks/build.py

clean:
	rm -rf $(VENV) build dist mutants .pytest_cache .mypy_cache .ruff_cache
