# step: the lowest versions every lower bound allows (uv --resolution lowest-direct), on Python 3.10
source "$(dirname "$0")/../lib.sh"
python=$(ci_require_python 3.10)
ci_venv lowest "$python" --resolution lowest-direct
# declared = tested: each direct dependency must be installed at exactly its lower bound
"$CI_VENVS/lowest/bin/python" "$CI_ROOT/.ci/lower_bounds.py"
(cd "$CI_ROOT" && "$CI_VENVS/lowest/bin/ruff" check . && "$CI_VENVS/lowest/bin/ruff" format --check .)
ci_mypy lowest
ci_suite lowest
ci_replay lowest
