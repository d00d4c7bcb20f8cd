# step: the demo in a venv with the runtime dependencies only, as a newcomer runs it; its output must be the README's
source "$(dirname "$0")/../lib.sh"
rm -rf "${CI_VENVS:?}/demo"
ci_uv venv -q --python "$(command -v python3)" "$CI_VENVS/demo"
VIRTUAL_ENV="$CI_VENVS/demo" ci_locked "$CI_VENVS/.uv/bin/uv" pip install -q -e "$CI_ROOT"
cd "$CI_ROOT"
output=$(env -u OPENROUTER_API_KEY LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR="$(mktemp -d)" \
  "$CI_VENVS/demo/bin/python" examples/demo.py 2>&1)
echo "$output"
# the README shows this output verbatim (tests/tools/build_demo_replay.py --readme pastes it)
"$CI_VENVS/demo/bin/python" - "$output" <<'PY'
import sys
readme = open("README.md", encoding="utf-8").read()
if sys.argv[1].rstrip() not in readme:
    sys.exit("the README's demo output differs from what the demo printed in a runtime-only venv")
print("the README shows this output")
PY
