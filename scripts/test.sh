#!/usr/bin/env bash
# Set up (idempotent) and run every check: ruff, ruff format, mypy, the offline test suite,
# and the shared real-traffic replay when ../shared is present (required under CI=true).
source "$(dirname "$0")/_venv.sh"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
if [ -f ../shared/tools/replay_real.py ] && [ -f ../shared/openrouter-recordings/recordings.jsonl ]; then
  .venv/bin/python ../shared/tools/replay_real.py ../shared/openrouter-recordings/recordings.jsonl \
    --catalog ../shared/openrouter-recordings/catalog-2026-05-01.json
elif [ "${CI:-}" = true ]; then
  echo "scripts/test.sh: ../shared/tools/replay_real.py is missing; under CI=true it must run" >&2
  exit 1
fi
