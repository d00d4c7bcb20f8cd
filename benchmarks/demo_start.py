"""A second ``bash scripts/demo.sh``: how soon it starts and how long the whole offline demo takes.

    .venv/bin/python benchmarks/demo_start.py [--rounds 7]

The first run installs into ``.venv/`` if ``pyproject.toml`` changed (not timed); every timed
round is a second run, as a newcomer's would be: no key (offline), a fresh catalog cache each
time. Per round: seconds to the demo's first line of output (set-up check, interpreter start,
the replay server up) and to its exit (all five steps). Interleaved with it, the floor any
LangChain chat model pays: a fresh interpreter importing
``langchain_core.language_models.chat_models``. Target (issue 11): a second run starts in under
3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import langchain_core.language_models.chat_models"


def _demo_round(env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    with subprocess.Popen(
        ["bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as demo:
        assert demo.stdout is not None
        demo.stdout.readline()
        first_line = time.perf_counter() - started
        demo.stdout.read()
    if demo.returncode != 0:
        raise SystemExit(f"scripts/demo.sh exited {demo.returncode}")
    return first_line, time.perf_counter() - started


def _floor_round() -> float:
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", FLOOR], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    subprocess.run(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    firsts, totals, floors = [], [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as cache:
            first, total = _demo_round({**env, "LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR": cache})
        firsts.append(first)
        totals.append(total)
        floors.append(_floor_round())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {sys.version.split()[0]}, {args.rounds} rounds, load average {load:.1f}")
    for label, values in (
        ("second run: first line of output", firsts),
        ("second run: the whole offline demo", totals),
        ("floor: import langchain_core chat_models", floors),
    ):
        print(
            f"{label:<42} median {statistics.median(values):.2f} s "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
