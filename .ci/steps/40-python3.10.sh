# step: the suite on Python 3.10 with the newest dependencies
source "$(dirname "$0")/../lib.sh"
python=$(ci_require_python 3.10)
ci_venv py310 "$python"
ci_suite py310
