"""How long the cassette-testing example takes to replay, and how big its recordings are.

    .venv/bin/python benchmarks/cassette_replay.py [--rounds 5]

Each round replays ``examples/cassette-testing`` in a fresh interpreter, sockets blocked, as a
user's ``pytest`` would. Reported, as medians over the rounds:

- **tests**: the sum of every test's setup + call + teardown (pytest's JUnit times) -- the replay
  itself, including the lazy first imports of the SDK inside the first test;
- **process**: the whole ``python -m pytest`` run (interpreter start, collection, imports).

and the sizes of the committed cassettes and catalog file, with the number of chat calls they hold.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cassette-testing"
CASSETTES = EXAMPLE / "tests" / "cassettes"


def replay_once(junit: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--disable-socket",
         "--allow-unix-socket", f"--junitxml={junit}"],
        cwd=EXAMPLE, capture_output=True, text=True,
    )  # fmt: skip
    process = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stdout[-3000:] + done.stderr[-2000:])
    cases = ET.parse(junit).getroot().iter("testcase")
    times = [float(case.get("time", 0)) for case in cases]
    return sum(times), process, len(times)


def recordings() -> tuple[int, int, list[int], int]:
    calls, single = 0, []
    cassettes = sorted(CASSETTES.rglob("*.yaml"))
    for path in cassettes:
        interactions = yaml.safe_load(path.read_text())["interactions"]
        calls += len(interactions)
        if len(interactions) == 1:
            single.append(path.stat().st_size)
    catalog = (CASSETTES / "openrouter-catalog.json").stat().st_size
    return len(cassettes), calls, single, catalog


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    count, calls, single, catalog = recordings()
    tests, processes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(rounds):
            seconds, process, n_tests = replay_once(Path(tmp) / f"junit-{index}.xml")
            tests.append(seconds)
            processes.append(process)
    print(f"{count} cassettes, {calls} chat calls, {n_tests} tests")
    print(f"one-exchange cassettes: {min(single)}-{max(single)} bytes ({len(single)} files)")
    print(f"catalog file: {catalog} bytes")
    print(
        f"replay, median of {rounds}: tests {statistics.median(tests):.2f} s "
        f"(min {min(tests):.2f}, max {max(tests):.2f}); "
        f"process {statistics.median(processes):.2f} s"
    )


if __name__ == "__main__":
    main()
