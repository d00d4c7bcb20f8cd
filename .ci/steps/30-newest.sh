# step: the newest versions every upper bound allows, on Python 3.13
source "$(dirname "$0")/../lib.sh"
python=$(ci_require_python 3.13)
ci_venv newest "$python" --resolution highest --upgrade
ci_mypy newest
ci_suite newest
