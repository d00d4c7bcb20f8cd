# step: the developer checks on Python 3.11, the CI machine's (scripts/test.sh: ruff, ruff format, mypy, suite, real replay)
source "$(dirname "$0")/../lib.sh"
python=$(ci_require_python 3.11)
cd "$CI_ROOT"
# .venv/ is made with that Python; one left by another Python would test that one instead
PYTHON=$python bash -c 'source scripts/_venv.sh'
ran=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [ "$ran" != 3.11 ]; then
  echo ".venv/ is Python $ran, not 3.11: delete it (rm -rf .venv) and run again" >&2
  exit 1
fi
bash scripts/test.sh -p no:randomly
