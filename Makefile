# The two commands of the README: `make demo` (the main job) and `make test` (the tests).
# Both create or refresh .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_out

.PHONY: demo test test-fast lint format bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The CPU build first: a bare `torch` requirement would otherwise pull a multi-GB CUDA build.
	$(PY) -m pip install -q "torch==2.13.0"
	$(PY) -m pip install -q -e ".[torch,dev,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tvau-bench demo --out $(DEMO_OUT)

test: $(STAMP)
	$(VENV)/bin/ruff check tvau_bench tests benchmarks
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=15

# The inner loop: everything but the slow, torch and Ray tests, whose files are then not even imported.
test-fast: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow and not torch and not ray"

lint: $(STAMP)
	$(VENV)/bin/ruff check tvau_bench tests benchmarks
	$(VENV)/bin/ruff format --check tvau_bench tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format tvau_bench tests benchmarks
	$(VENV)/bin/ruff check --fix tvau_bench tests benchmarks

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
