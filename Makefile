# Set-up and the two jobs the README starts with. Everything runs inside .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU build of torch (users with a GPU install their own torch first; the package asks for a range)
TORCH ?= torch==2.13.0

.PHONY: setup analysis test docs quick clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test,docs,cluster]"
	touch $@

setup: $(VENV)/.installed

analysis: setup
	$(VENV)/bin/sksep compare

test: setup
	$(PY) -m ruff check sksep tests benchmarks examples scripts
	$(PY) -m pytest -n 2

docs: setup
	docs/build.sh

quick: setup
	$(VENV)/bin/sksep compare --quick --out $${OUT:-build/analysis-quick}

clean:
	rm -rf $(VENV) build *.egg-info
