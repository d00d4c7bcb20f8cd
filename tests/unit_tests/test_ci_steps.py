""".ci/run tells the truth: every supported Python gets a suite run, a missing one fails the run
under CI=true instead of skipping, and the lowest run checks that each lower bound was installed
exactly. These run the real .ci/run, .ci/lib.sh and .ci/lower_bounds.py (bash, no installs)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / ".ci"
SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]
# what runs the offline suite inside a step
RUNS_THE_SUITE = re.compile(r"^\s*(ci_suite\s|bash scripts/test\.sh)", re.M)


def _bash(script: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(
        [bash, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def _env(tmp_path: Path, *, ci: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYENV_ROOT"}}
    env["PYENV_ROOT"] = str(tmp_path / "no-pyenv")  # nothing installed there
    if ci:
        env["CI"] = "true"
    return env


def test_the_readme_and_pyproject_name_the_pythons_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    stated = readme.split("## Supported versions", 1)[1].split("\n\n")[1]
    assert stated.startswith(f"Python {SUPPORTED[0]}\N{EN DASH}{SUPPORTED[-1]}."), stated[:40]
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.10"' in pyproject


def test_every_supported_python_gets_a_suite_run() -> None:
    covered: dict[str, list[str]] = {}
    for step in sorted((CI / "steps").glob("*.sh")):
        text = step.read_text()
        if not RUNS_THE_SUITE.search(text):
            continue
        for version in re.findall(r"ci_require_python (\d+\.\d+)", text):
            covered.setdefault(version, []).append(step.name)
    missing = [v for v in SUPPORTED if v not in covered]
    assert not missing, f"no .ci step runs the suite on Python {missing}: {covered}"


@pytest.mark.parametrize(("ci", "code"), [(True, 1), (False, 3)])
def test_a_missing_python_fails_under_ci_and_skips_otherwise(
    tmp_path: Path, ci: bool, code: int
) -> None:
    done = _bash("source .ci/lib.sh; ci_require_python 3.99; echo reached", _env(tmp_path, ci=ci))
    assert done.returncode == code, done.stdout + done.stderr
    assert "reached" not in done.stdout
    assert "Python 3.99 is not installed" in done.stderr
    if ci:
        assert "under CI=true every supported Python must run" in done.stderr


def _fake_python(path: Path, *, answers: str = "exit 0") -> Path:
    """An executable standing in for an interpreter (ci_python asks it whether it is X.Y)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{answers}\n")
    path.chmod(0o755)
    return path


def _tools(tmp_path: Path) -> str:
    """A PATH holding only what lib.sh calls besides builtins: no Python of the machine's."""
    bin_dir = tmp_path / "tools"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("bash", "dirname", "cat", "flock"):
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_a_python_under_pyenv_is_found_when_it_is_that_version(tmp_path: Path) -> None:
    env = {**_env(tmp_path, ci=True), "PATH": _tools(tmp_path)}
    versions = tmp_path / "no-pyenv" / "versions"
    wanted = _fake_python(versions / "3.12.1" / "bin" / "python3.12")
    _fake_python(versions / "3.9.18" / "bin" / "python3.9", answers="exit 1")  # not what it says
    done = _bash("source .ci/lib.sh; ci_require_python 3.12", env)
    assert (done.returncode, done.stdout.strip()) == (0, str(wanted)), done.stderr
    done = _bash("source .ci/lib.sh; ci_require_python 3.9", env)
    assert done.returncode == 1, done.stdout


@pytest.mark.parametrize(("venv_python", "code"), [("3.11", 0), ("3.10", 1)])
def test_the_checks_step_runs_on_python_3_11_only(
    tmp_path: Path, venv_python: str, code: int
) -> None:
    root = tmp_path / "checkout"
    (root / ".ci" / "steps").mkdir(parents=True)
    shutil.copy(CI / "lib.sh", root / ".ci" / "lib.sh")
    shutil.copy(CI / "steps" / "10-checks.sh", root / ".ci" / "steps" / "10-checks.sh")
    # stand-ins: the venv set-up records the Python it was given, the checks say they ran
    (root / "scripts").mkdir()
    (root / "scripts" / "_venv.sh").write_text('echo "$PYTHON" > venv-python\n')
    (root / "scripts" / "test.sh").write_text('echo "checks ran: $*"\n')
    _fake_python(root / ".venv" / "bin" / "python", answers=f"echo {venv_python}")
    versions = tmp_path / "no-pyenv" / "versions"
    python311 = _fake_python(versions / "3.11.7" / "bin" / "python3.11")
    env = {**_env(tmp_path, ci=True), "PATH": _tools(tmp_path)}
    done = _bash("bash .ci/steps/10-checks.sh", env, cwd=root)
    assert done.returncode == code, done.stdout + done.stderr
    assert (root / "venv-python").read_text().strip() == str(python311)
    if code == 0:
        assert done.stdout.strip() == "checks ran: -p no:randomly"
    else:
        assert "checks ran" not in done.stdout
        assert ".venv/ is Python 3.10, not 3.11" in done.stderr


def _fake_ci(tmp_path: Path, steps: dict[str, str]) -> Path:
    root = tmp_path / "checkout"
    (root / ".ci" / "steps").mkdir(parents=True)
    for name in ("run", "lib.sh"):
        shutil.copy(CI / name, root / ".ci" / name)
    for name, body in steps.items():
        (root / ".ci" / "steps" / name).write_text(f"# step: {name}\n{body}\n")
    return root


@pytest.mark.parametrize("ci", [True, False])
def test_run_fails_a_step_that_skips_under_ci(tmp_path: Path, ci: bool) -> None:
    root = _fake_ci(
        tmp_path,
        {
            "05-setup.sh": "echo set up",
            "10-ok.sh": "echo fine",
            "40-python3.99.sh": 'source "$(dirname "$0")/../lib.sh"; ci_require_python 3.99',
            "50-not-here.sh": "exit 3",  # a step's own "not applicable here"
        },
    )
    env = {**_env(tmp_path, ci=ci), "CI_VENVS": str(tmp_path / "venvs")}
    done = _bash("bash .ci/run", env, cwd=root)
    assert done.returncode == (1 if ci else 0), done.stdout + done.stderr
    summary = done.stdout.split("=== .ci/run summary", 1)[1]
    assert re.search(r"05-setup\s+ok", summary) and re.search(r"10-ok\s+ok", summary), summary
    if ci:
        assert re.search(r"40-python3\.99\s+FAILED .*\(exit 1\)", summary), summary
        assert re.search(r"50-not-here\s+FAILED .*\(skipped under CI=true\)", summary), summary
    else:
        assert re.search(r"40-python3\.99\s+skipped", summary), summary
        assert re.search(r"50-not-here\s+skipped", summary), summary


def test_run_fails_when_a_step_fails(tmp_path: Path) -> None:
    root = _fake_ci(tmp_path, {"10-ok.sh": "true", "20-broken.sh": "echo boom; exit 1"})
    env = {**_env(tmp_path, ci=False), "CI_VENVS": str(tmp_path / "venvs")}
    done = _bash("bash .ci/run", env, cwd=root)
    assert done.returncode == 1
    assert "boom" in done.stdout  # the failing step's output is printed
    assert re.search(r"20-broken\s+FAILED.*\(exit 1\)", done.stdout)


@pytest.fixture(scope="module")
def lower_bounds() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lower_bounds", CI / "lower_bounds.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lowest_run_installs_the_lowest_versions_and_checks_them() -> None:
    text = (CI / "steps" / "20-lowest.sh").read_text()
    assert "--resolution lowest-direct" in text
    assert ".ci/lower_bounds.py" in text
    assert "ci_require_python 3.10" in text  # the oldest Python with the oldest versions


def test_lower_bounds_accepts_exactly_the_bounds(lower_bounds: ModuleType) -> None:
    installed = {"a": "1.5.0", "b": "2.9.1", "c": "8.2", "d": "4"}.__getitem__
    requirements = ["a>=1.5,<2", "b<3,>=2.9.1", 'c>=8.2.0; extra == "dev"', "d>=4.0"]
    assert lower_bounds.untested_bounds(requirements, installed) == []


def test_lower_bounds_names_every_bound_not_installed_exactly(lower_bounds: ModuleType) -> None:
    versions = {"a": "1.6.0", "b": "2.9.0", "e": "1.0"}

    def installed(name: str) -> str:
        if name not in versions:
            raise importlib.metadata.PackageNotFoundError(name)
        return versions[name]

    requirements = ["a>=1.5,<2", 'b>=2.9.1; extra == "testing"', "e<2", "f>=3"]
    assert lower_bounds.untested_bounds(requirements, installed) == [
        "a: declared >=1.5, the lowest resolution installed 1.6.0",
        "b: declared >=2.9.1, the lowest resolution installed 2.9.0",
        "e<2: no lower bound",
        "f: declared >=3, not installed by the lowest run",
    ]


def test_every_declared_requirement_has_a_lower_bound_the_check_reads(
    lower_bounds: ModuleType,
) -> None:
    # the installed metadata as the lowest run sees it: only the versions differ from there
    requirements = importlib.metadata.requires("langchain-openrouter-fenic") or []
    assert len(requirements) >= 15  # runtime, extras and dev
    problems = lower_bounds.untested_bounds(requirements, lambda name: "0")
    assert len(problems) == len(requirements)
    assert not [p for p in problems if "no lower bound" in p], problems
