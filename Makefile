# The two commands of the README: `make demo` (the main job) and `make test` (the tests).
# Both create or refresh .venv and install what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_out
# torch's CPU build. PyPI's Linux torch is the CUDA build (GBs of CUDA libraries), so the CPU wheel comes from
# PyTorch's CPU index, given as an extra index: there `2.13.0+cpu` outranks PyPI's `2.13.0`, and an index that
# cannot be reached is skipped (a local CPU wheel, where the machine has one, is found instead). On a CUDA machine
# `make TORCH_INDEX=` takes PyPI's build, which is the CUDA one.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: demo publish test test-fast lint format bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from TORCH_INDEX when it answers (a machine that reaches PyPI only would retry it in vain
	# for minutes): the `torch` extra's bare requirement would otherwise pull the CUDA build.
	idx=""; if [ -n "$(TORCH_INDEX)" ] && $(PY) -c "import urllib.request as u; u.urlopen('$(TORCH_INDEX)/', timeout=5)" 2>/dev/null; \
		then idx="--extra-index-url $(TORCH_INDEX)"; fi; \
		$(PY) -m pip install -q "torch==$(TORCH_VERSION)" $$idx
	$(PY) -m pip install -q -e ".[torch,dev,ray]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tvau-bench demo --out $(DEMO_OUT)

# the demo, then its runs, figures and figures table copied into the committed leaderboard/ and docs/
publish: $(STAMP)
	$(VENV)/bin/tvau-bench demo --out $(DEMO_OUT) --publish .

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
