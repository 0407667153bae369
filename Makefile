# Two commands do all set-up on a fresh machine with Python 3.11 and pip:
#   make demo   -- venv + package with experiment extras, then every study -> results/REPORT.md
#   make test   -- venv + dev extras, then the whole suite; then the quick test again in a
#                  second venv with the minimum versions pyproject.toml declares (test-floors)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLOORS := .venv-floors
JOBS   ?= 2

.PHONY: demo test test-floors lint readme docs docs-check bench bench-check clean

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
	$(BIN)/ruff check lossjax tests experiments docs
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup --durations=20 tests \
	  --ignore=tests/test_quick_every_loss.py
	$(MAKE) test-floors

# The declared floors are versions CI runs: exactly the minimum of every run-time dependency
# (read from pyproject.toml by .ci/floors.py), lossjax from this tree, 8 virtual devices.
$(FLOORS)/.installed: pyproject.toml .ci/floors.py
	rm -rf $(FLOORS)
	$(PYTHON) -m venv $(FLOORS)
	$(FLOORS)/bin/python -m pip install -q --upgrade pip
	$(PYTHON) .ci/floors.py > $(FLOORS)/floors.txt
	$(FLOORS)/bin/python -m pip install -q -r $(FLOORS)/floors.txt "pytest>=7.4,<9.2"
	touch $@

test-floors: $(FLOORS)/.installed
	$(FLOORS)/bin/python -m pip list 2>/dev/null | grep -E "^(jax|jaxlib|numpy|optax|chex|absl-py) "
	XLA_FLAGS=--xla_force_host_platform_device_count=8 $(FLOORS)/bin/python -m pytest -q \
	  -p no:cacheprovider tests/test_quick_every_loss.py

# The documentation site: docs/_build/html/index.html (offline; warnings are errors).
docs: $(VENV)/.dev-installed
	$(BIN)/python -m sphinx -W --keep-going -b html -j auto docs docs/_build/html

# The built site checked (run after `make docs`): links, anchors, images, no network assets,
# local MathJax; then in headless Chromium (Debian's `chromium`): rendered math, decoded
# images, screenshots in docs/_build/screenshots/. Without Chromium it fails loudly unless
# DOCS_CHECK_FLAGS=--no-browser (what .ci/run passes on a machine without it).
DOCS_CHECK_FLAGS ?=
docs-check: $(VENV)/.dev-installed
	$(BIN)/python docs/check_site.py $(DOCS_CHECK_FLAGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check lossjax tests experiments docs
	$(BIN)/mypy

readme: $(VENV)/.dev-installed
	$(BIN)/python -m lossjax._readme --update README.md

bench: $(VENV)/.demo-installed
	$(BIN)/python -m experiments.benchmark

# The quick speed guard (about two minutes on a quiet 2-core machine): the key rows with
# their per-round ratios to optax / naive / the floor (median [interquartile range]), rows
# where lossjax is slower than a peer marked. Prints; asserts nothing about time.
BENCH_CHECK_OUT ?= results/bench-check
BENCH_CHECK_ELEMENTWISE := squared_error,huber,log_cosh,binary_cross_entropy_with_logits,sigmoid_focal,hinge
bench-check: $(VENV)/.demo-installed
	$(BIN)/python -m experiments.benchmark --losses $(BENCH_CHECK_ELEMENTWISE),softmax_cross_entropy \
	  --sizes 4194304 --class_shapes 8192x1000,4096x8192,2048x32768 --ce_cases plain \
	  --peers optax,naive,torch --repeats 15 --warmup 1 --inner 1 --e2e=false \
	  --out $(BENCH_CHECK_OUT)
	$(BIN)/python -m experiments.benchmark_lce --tokens 4096 --vocab 32768 --width 512 \
	  --impls naive,jax_cce,lossjax --repeats 3 --warmup 1 --out $(BENCH_CHECK_OUT)/lce.json

clean:
	rm -rf $(VENV) $(FLOORS) results
