# Two commands do all set-up on a fresh machine with Python 3.11 and pip:
#   make demo   -- venv + package with experiment extras, then every study -> results/REPORT.md
#   make test   -- venv + dev extras, then the whole suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
JOBS   ?= 2

.PHONY: demo test lint readme bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[experiments,flax,haiku]"
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/python -m experiments.demo --out results

test: $(VENV)/.dev-installed
	$(BIN)/ruff check lossjax tests experiments
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup tests

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check lossjax tests experiments

readme: $(VENV)/.dev-installed
	$(BIN)/python -m lossjax.registry --update-readme README.md

bench: $(VENV)/.demo-installed
	$(BIN)/python -m experiments.benchmark

clean:
	rm -rf $(VENV) results
