# Set-up and the two jobs the README starts with. Everything runs inside .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The CPU build of torch (users with a GPU install their own torch first; the package asks for a range)
TORCH ?= torch==2.13.0

.PHONY: setup analysis test lint docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

analysis: setup
	$(VENV)/bin/sksep compare

test: setup
	$(PY) -m ruff check sksep tests benchmarks examples scripts
	$(PY) -m pytest -n 2

clean:
	rm -rf $(VENV) build *.egg-info
