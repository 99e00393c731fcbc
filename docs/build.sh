#!/usr/bin/env bash
# Build the HTML documentation; any Sphinx warning (a broken reference, a bad
# docstring, a failing gallery example) fails the build. Runs offline.
#   docs/build.sh            -> docs/_build/html/index.html
#   docs/build.sh -E         extra arguments go to sphinx-build (-E: rebuild everything)
set -euo pipefail
DOCS="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$DOCS")"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
export MPLBACKEND=Agg
exec "$PY" -m sphinx -W --keep-going -b html "$@" "$DOCS" "$DOCS/_build/html"
