#!/usr/bin/env bash
# Set up (idempotent) and run the demo: live when OPENROUTER_API_KEY is set, else replayed
# from cassettes/emulator/demo.yaml (no network needed).
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python examples/demo.py "$@"
