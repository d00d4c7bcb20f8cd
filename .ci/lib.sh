# Helpers for .ci/run and .ci/steps/*.sh (sourced; bash).
#   ci_python 3.12        -> path of a Python 3.12 interpreter (PATH, then pyenv), or nothing
#   ci_require_python 3.12 -> that path; under CI=true a missing one is an error, else a skip (exit 3)
#   ci_venv NAME PYTHON [uv pip install args...] -> a fresh .ci-venvs/NAME with the package installed
#   ci_locked CMD...       -> CMD under the checkout's install lock (steps run side by side)
#   ci_mypy NAME          -> mypy (strict, the package) with .ci-venvs/NAME's mypy
#   ci_suite NAME [pytest args...] -> the offline test suite in .ci-venvs/NAME
#   ci_replay NAME -> ../shared/tools/replay_real.py through .ci-venvs/NAME
set -euo pipefail
CI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CI_VENVS=${CI_VENVS:-$CI_ROOT/.ci-venvs}
CI_SKIP=3  # a step's exit status for "not applicable here" (never under CI=true)

ci_python() {
  local version=$1 candidate
  for candidate in "python$version" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version"; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ci_require_python() {
  local found
  if found=$(ci_python "$1"); then
    echo "$found"
    return 0
  fi
  if [ "${CI:-}" = true ]; then
    echo "Python $1 is not installed (looked on PATH and under ${PYENV_ROOT:-$HOME/.pyenv}/versions); under CI=true every supported Python must run" >&2
    exit 1
  fi
  echo "Python $1 is not installed here: step skipped (under CI=true this fails)" >&2
  exit "$CI_SKIP"
}

# Steps run side by side (.ci/run): whatever writes into a shared place (the uv bootstrap, an
# editable install, which builds the package's metadata in the checkout) holds this lock, the
# same one scripts/_venv.sh takes.
ci_locked() {
  flock "$CI_ROOT/.install.lock" "$@"
}

# uv, from PyPI, bootstrapped once with pip into its own venv
ci_uv() {
  if [ ! -x "$CI_VENVS/.uv/bin/uv" ]; then
    ci_locked bash -c '[ -x "$0/.uv/bin/uv" ] || { python3 -m venv "$0/.uv" &&
      "$0/.uv/bin/python" -m pip install -q --disable-pip-version-check "uv>=0.8"; }' "$CI_VENVS"
  fi
  "$CI_VENVS/.uv/bin/uv" "$@"
}

ci_venv() {
  local name=$1 python=$2
  shift 2
  rm -rf "${CI_VENVS:?}/$name"
  ci_uv venv -q --python "$python" "$CI_VENVS/$name"
  VIRTUAL_ENV="$CI_VENVS/$name" ci_locked "$CI_VENVS/.uv/bin/uv" pip install -q -e "$CI_ROOT[dev]" "$@"
  "$CI_VENVS/$name/bin/python" - <<'PY'
import importlib.metadata as md, sys
names = ["langchain-core", "openai", "pydantic", "tenacity", "typing-extensions", "pytest", "langchain-tests"]
print(f"  Python {sys.version.split()[0]}: " + ", ".join(f"{n} {md.version(n)}" for n in names))
PY
}

# mypy's cache is not safe to share between runs side by side (nor between mypy versions): each
# venv's mypy, and the suite's own mypy test (tests/unit_tests/test_typing.py), use its own
ci_mypy() {
  (cd "$CI_ROOT" && MYPY_CACHE_DIR="$CI_VENVS/$1/.mypy_cache" "$CI_VENVS/$1/bin/mypy")
}

ci_suite() {
  local name=$1
  shift
  (cd "$CI_ROOT" && MYPY_CACHE_DIR="$CI_VENVS/$name/.mypy_cache" \
    "$CI_VENVS/$name/bin/python" -m pytest -q -p no:randomly "$@")
}

ci_replay() {
  local shared=$CI_ROOT/../shared
  if [ ! -f "$shared/tools/replay_real.py" ]; then
    if [ "${CI:-}" = true ]; then
      echo "../shared/tools/replay_real.py is missing; under CI=true it must run" >&2
      exit 1
    fi
    echo "../shared is missing: real-traffic replay skipped" >&2
    return 0
  fi
  (cd "$CI_ROOT" && "$CI_VENVS/$1/bin/python" "$shared/tools/replay_real.py" \
    "$shared/openrouter-recordings/recordings.jsonl" \
    --catalog "$shared/openrouter-recordings/catalog-2026-05-01.json")
}
