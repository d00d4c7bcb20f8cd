"""scripts/_venv.sh, which scripts/demo.sh and scripts/test.sh source: it installs only when
pyproject.toml changed since the last install, so a second ``bash scripts/demo.sh`` goes straight
to the demo (benchmarks/README.md measures how fast it starts). The real script runs here against
a stand-in interpreter that logs what it is asked to do; nothing is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# `python -m venv DIR` makes DIR/bin/python, a copy of this same stand-in; every call is logged
FAKE_PYTHON = """#!/bin/sh
echo "$0 $*" >> "$SETUP_LOG"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && chmod +x "$3/bin/python"
fi
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "_venv.sh", root / "scripts" / "_venv.sh")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    return root


def _set_up(checkout: Path, extras: str) -> list[str]:
    """Source _venv.sh as the scripts do; the calls made to any Python, in order."""
    log = checkout.parent / "setup.log"
    log.unlink(missing_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHON": str(checkout.parent / "python3"),
        "EXTRAS": extras,
        "SETUP_LOG": str(log),
    }
    done = subprocess.run(
        ["bash", "-c", "source scripts/_venv.sh"],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    return [call.replace(str(checkout.parent), "TMP") for call in calls]


def test_the_first_run_installs_the_second_does_nothing(checkout: Path) -> None:
    assert _set_up(checkout, "runtime") == [
        "TMP/python3 -m venv .venv",
        ".venv/bin/python -m pip install -q --disable-pip-version-check -e .",
    ]
    assert _set_up(checkout, "runtime") == []  # the demo starts at once
    assert _set_up(checkout, "dev") == [
        ".venv/bin/python -m pip install -q --disable-pip-version-check -e .[dev]"
    ]
    assert _set_up(checkout, "dev") == []
    assert _set_up(checkout, "runtime") == []  # the dev install holds the runtime one


def test_a_changed_pyproject_installs_again(checkout: Path) -> None:
    _set_up(checkout, "runtime")
    pyproject = checkout / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# a new dependency range\n")
    assert _set_up(checkout, "runtime") == [
        ".venv/bin/python -m pip install -q --disable-pip-version-check -e ."
    ]
    assert _set_up(checkout, "runtime") == []
