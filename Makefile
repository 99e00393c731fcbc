# Set-up and the two jobs the README starts with. Everything runs inside .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU build of torch (users with a GPU install their own torch first; the package asks for a range)
TORCH ?= torch==2.13.0
# glibc keeps freed memory for the next batch instead of mapping fresh pages: CNN training
# steps 1.17x as fast on 2 cores (benchmarks/cpu_allocator.py); ignored by other C libraries
MALLOC := MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296

.PHONY: setup analysis test docs quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test,docs,cluster]"
	touch $@

setup: $(VENV)/.installed

analysis: setup
	$(MALLOC) $(VENV)/bin/sksep compare

test: setup
	$(PY) -m ruff check sksep tests benchmarks examples scripts
	$(PY) -m pytest -n 2

docs: setup
	docs/build.sh

quick: setup
	$(MALLOC) $(VENV)/bin/sksep compare --quick --out $${OUT:-build/analysis-quick}

clean:
	rm -rf $(VENV) build *.egg-info
