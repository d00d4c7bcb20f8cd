#!/usr/bin/env bash
# Set up (idempotent) and run every check: ruff, ruff format, mypy, the offline test suite,
# and the shared real-traffic replay when ../shared is present.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
if [ -f ../shared/tools/replay_real.py ] && [ -f ../shared/openrouter-recordings/recordings.jsonl ]; then
  .venv/bin/python ../shared/tools/replay_real.py ../shared/openrouter-recordings/recordings.jsonl \
    --catalog ../shared/openrouter-recordings/catalog-2026-05-01.json
fi
