"""The worked example (``examples/cassette-testing``) replays against the package as it is now.

Its cassettes hold the exact requests the package sends; a change to what a request looks like
(a new field, another default) makes them stale. This test says so in every run of the suite,
not only in ``.ci/run`` (which also replays each test alone and in other orders).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cassette-testing"
RERECORD = (
    "cd examples/cassette-testing && rm tests/cassettes/openrouter-catalog.json && "
    "../../.venv/bin/python -m pytest -p no:randomly --record-mode=rewrite"
)


def test_the_example_replays_offline() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--disable-socket",
         "--allow-unix-socket"],
        cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    # the plugin's end-of-run list of the tests that missed, then the first failure in full
    missed = re.search(r"^=+ openrouter cassettes =+\n(.*?)^=", done.stdout, re.M | re.S)
    assert done.returncode == 0, (
        f"The cassette example no longer replays. If the package now sends different requests "
        f"on purpose, re-record it ({RERECORD}) and review the cassette diff.\n"
        + (missed.group(1) if missed else "")
        + done.stdout[:5000]
        + done.stderr[-2000:]
    )
