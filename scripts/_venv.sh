# Sourced by the set-up scripts: create .venv once and install the package into it, editable.
#   EXTRAS=dev (default): with the dev extras (tests, ruff, mypy); EXTRAS=runtime: the runtime
#   dependencies only (what the demo needs).
# pip runs only when pyproject.toml changed since the last install (or the venv is new): a
# second run starts at once. Delete .venv/ to start over.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-dev}
_stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
_installed() { [ -f ".venv/.installed-$1" ] && [ "$(cat ".venv/.installed-$1")" = "$_stamp" ]; }
# the dev install includes the runtime one
_ready() { _installed "$EXTRAS" || { [ "$EXTRAS" = runtime ] && _installed dev; }; }
if ! _ready; then
  # one installer at a time (two scripts at once, or .ci/run's steps side by side); the second
  # finds the work done
  exec {_lock}>.install.lock
  flock "$_lock"
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
  fi
  if ! _ready; then
    if [ "$EXTRAS" = runtime ]; then _target=.; else _target=".[$EXTRAS]"; fi
    .venv/bin/python -m pip install -q --disable-pip-version-check -e "$_target"
    echo "$_stamp" > ".venv/.installed-$EXTRAS"
  fi
  exec {_lock}>&-
fi
unset _stamp _target _lock
