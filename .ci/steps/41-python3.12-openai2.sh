# step: the suite on Python 3.12 with the newest openai 2.x (the SDK line langchain-openai requires)
source "$(dirname "$0")/../lib.sh"
python=$(ci_require_python 3.12)
ci_venv py312-openai2 "$python" 'openai>=2,<3'
ci_suite py312-openai2
ci_replay py312-openai2
