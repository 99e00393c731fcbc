#!/usr/bin/env bash
# Build the HTML documentation; any Sphinx warning (a broken reference, a bad
# docstring, a failing gallery example) fails the build. Runs offline.
#   docs/build.sh            -> docs/_build/html/index.html
#   docs/build.sh -E         extra arguments go to sphinx-build (-E: reread every source)
# The API stubs (docs/generated) and the gallery (docs/auto_examples) are
# regenerated on every build, so stale pages of removed names never linger.
set -euo pipefail
DOCS="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$DOCS")"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
export MPLBACKEND=Agg
rm -rf "$DOCS/generated" "$DOCS/auto_examples" "$DOCS/sg_execution_times.rst"
exec "$PY" -m sphinx -W --keep-going -b html "$@" "$DOCS" "$DOCS/_build/html"
