# Set-up and the two jobs the README starts with. Everything runs inside .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch first (the package itself asks for a range; users bring their own build). Which build
# `torch==2.13.0` is depends on pip's sources: the CPU wheel where it is found first (the CI
# machines), else PyPI's (CUDA on Linux); TORCH_PIP_ARGS="--index-url <pytorch.org CPU index>"
# chooses. Both act only when .venv is set up, so `make clean` first to change them.
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
# glibc keeps freed memory for the next batch instead of mapping fresh pages: CNN training
# steps 1.17x as fast on 2 cores (benchmarks/cpu_allocator.py); ignored by other C libraries
MALLOC := MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296

.PHONY: setup analysis test docs quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
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
