"""Replay the example the way a fresh CI machine would, and fail loudly if anything leaks.

    python examples/cassette-testing/check_offline.py [--seed N]

The example's tracked files (``git ls-files``: what a clean clone holds) are copied to a new
directory, and its suite is replayed there with sockets blocked (pytest-socket), with ``HOME``
pointing at an empty directory (no catalog cache, no stray key) and no OpenRouter variables:

1. the whole suite;
2. each test alone, in a process of its own;
3. in reversed order;
4. in a random order (``--seed``, printed, to reproduce).

Afterwards no file of the copy may have changed (a replay writes nothing) and no catalog cache
may have appeared under ``HOME``. Runs with the interpreter it is started with, which must have
``langchain-openrouter-fenic[dev]`` installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent
PYTEST = [
    sys.executable,
    "-m",
    "pytest",
    "-p",
    "no:randomly",
    "--disable-socket",
    "--allow-unix-socket",  # asyncio's own self-pipe
    "-q",
]


def tracked_files() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "."], cwd=EXAMPLE, check=True, capture_output=True
    ).stdout
    return [Path(name) for name in out.decode().split("\0") if name]


def copy_example(target: Path) -> None:
    for name in tracked_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(EXAMPLE / name, destination)


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def clean_environment(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENROUTER_", "LANGCHAIN_OPENROUTER_FENIC_", "XDG_"))
    }
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1")
    return env


def run(label: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    started = time.perf_counter()
    done = subprocess.run([*PYTEST, *args], cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-6000:] + done.stderr[-3000:])
        raise SystemExit(f"cassette example, {label}: FAILED (exit {done.returncode})")
    summary = done.stdout.strip().splitlines()[-1]
    print(f"cassette example, {label}: {summary} ({elapsed:.1f} s with start-up)")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="seed of the random order")
    seed = parser.parse_args().seed
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else seed

    with tempfile.TemporaryDirectory(prefix="cassette-example-") as tmp:
        work, home = Path(tmp) / "example", Path(tmp) / "home"
        home.mkdir()
        copy_example(work)
        env = clean_environment(home)
        before = digest(work)

        run("whole suite", [], work, env)
        collected = subprocess.run(
            [*PYTEST, "--collect-only"], cwd=work, env=env, capture_output=True, text=True
        ).stdout
        ids = [line for line in collected.splitlines() if "::" in line]
        if len(ids) < 10:
            raise SystemExit(f"cassette example: only {len(ids)} tests collected:\n{collected}")
        for node in ids:
            run(f"alone: {node}", [node], work, env)
        run("reversed order", ids[::-1], work, env)
        shuffled = list(ids)
        random.Random(seed).shuffle(shuffled)
        run(f"random order (--seed {seed})", shuffled, work, env)

        changed = sorted(name for name, h in digest(work).items() if before.get(name) != h)
        if changed:
            raise SystemExit(f"cassette example: the replays changed files: {changed}")
        leftovers = [str(p.relative_to(home)) for p in home.rglob("*")]
        if leftovers:
            raise SystemExit(f"cassette example: the replays left files in HOME: {leftovers}")
        print(f"cassette example: {len(ids)} tests, {len(ids) + 3} offline runs, all passed")


if __name__ == "__main__":
    main()
