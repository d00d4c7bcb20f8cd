# step: the developer checks on the machine's Python (scripts/test.sh: ruff, ruff format, mypy, suite, real replay)
source "$(dirname "$0")/../lib.sh"
cd "$CI_ROOT"
bash scripts/test.sh -p no:randomly
