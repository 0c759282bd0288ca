# Two promised commands: `make demo` and `make test`. Both create .venv when missing and re-use it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The stamp's name carries a checksum of pyproject.toml: editing it re-installs.
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

.PHONY: demo test test-fast deps-demo deps-test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel

# Re-installs only when pyproject.toml changes. llama-cpp-python compiles once (~5 min on 2 cores);
# pip caches the wheel, so later installs take seconds.
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[local,dev,export,ray]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# Debian packages first (a compiler and venv support for the install; bubblewrap and git for the
# sandbox; chromium for the report tests), then the venv. Listed in order: make runs them in turn.
demo: deps-demo $(STAMP)
	$(VENV)/bin/perpass demo --out perpass-demo

test: deps-test $(STAMP)
	$(PY) -m pytest -q

# The inner loop: everything but the real model, the browser and the slow kill/resume loops
# (markers in pyproject.toml; a test without its marker fails, see tests/conftest.py).
test-fast: deps-test $(STAMP)
	$(PY) -m pytest -q -m "not model and not browser and not slow"

deps-demo deps-test:
	@PYTHON=$(PYTHON) sh scripts/system-deps.sh $(subst deps-,,$@)

# ruff, the import layers (pyproject [tool.importlinter]) and the type checker (pyproject [tool.mypy]).
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) perpass-demo perpass-runs .pytest_cache
