#!/usr/bin/env bash
# Set up (idempotent) and run the demo: live when OPENROUTER_API_KEY is set, else replayed
# from cassettes/demo/ (no network needed).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
exec .venv/bin/python examples/demo.py "$@"
