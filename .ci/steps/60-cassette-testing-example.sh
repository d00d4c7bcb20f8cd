# step: examples/cassette-testing replayed offline (issue 12): from a copy of its committed files, sockets blocked, empty HOME; the whole suite, each test alone, reversed and random order
source "$(dirname "$0")/../lib.sh"
cd "$CI_ROOT"
bash -c 'source scripts/_venv.sh && .venv/bin/python examples/cassette-testing/check_offline.py'
