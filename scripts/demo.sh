#!/usr/bin/env bash
# Set up (runtime dependencies only; nothing is reinstalled when nothing changed) and run the
# demo: live when OPENROUTER_API_KEY is set, else offline from the real recorded OpenRouter
# answers in cassettes/real/, served by a loopback replay server (examples/replay_server.py).
EXTRAS=runtime source "$(dirname "$0")/_venv.sh"
exec .venv/bin/python examples/demo.py "$@"
