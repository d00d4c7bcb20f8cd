"""Declared = imported: every module the package imports is the standard library, the package
itself, a declared runtime dependency (the SDK's HTTP library comes through ``openai``), or the
dependency of an optional extra that only the feature naming it imports."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from langchain_openrouter_fenic.wire.transport import sdk_modules

PACKAGE = Path(__file__).resolve().parents[2] / "langchain_openrouter_fenic"
DISTRIBUTION = "langchain-openrouter-fenic"
# imported by name at run time from the SDK's own client class (wire/transport.py: sdk_modules)
THROUGH_OPENAI = {"httpx", "httpx2"}


def _requirements(extra: str | None = None) -> dict[str, str]:
    """Declared requirements: the runtime ones (``extra=None``) or one extra's, normalised name
    -> version specifier."""
    found = {}
    for line in importlib.metadata.requires(DISTRIBUTION) or []:
        marker = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", line)
        if (marker.group(1) if marker else None) != extra:
            continue
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", line)
        assert match, line
        found[_normalise(match.group(1))] = match.group(2).split(";")[0].strip()
    return found


def _runtime_requirements() -> dict[str, str]:
    return _requirements(None)


def _optional_requirements() -> dict[str, str]:
    """The user-facing extras' requirements (``[testing]``, ``[progress]``; not ``[dev]``)."""
    extras = importlib.metadata.metadata(DISTRIBUTION).get_all("Provides-Extra") or []
    found: dict[str, str] = {}
    for extra in extras:
        if extra != "dev":
            found.update(_requirements(extra))
    return found


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _module_providers() -> dict[str, set[str]]:
    """Top-level module -> distributions installing it, from each distribution's file list
    (``packages_distributions`` misses wheels without top_level.txt on Python 3.10)."""
    providers: dict[str, set[str]] = {}
    for dist in importlib.metadata.distributions():
        for file in dist.files or []:
            top = file.parts[0] if len(file.parts) > 1 else file.name.removesuffix(".py")
            if top.isidentifier():
                providers.setdefault(top, set()).add(_normalise(dist.metadata["Name"]))
    return providers


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level module -> first file importing it, over every module of the package."""
    seen: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                seen.setdefault(name.partition(".")[0], str(path.relative_to(PACKAGE.parent)))
    return seen


def _through(declared: set[str]) -> set[str]:
    """The declared distributions and those they require themselves (one level): a module that
    comes through a declared dependency, like ``pydantic_core`` through ``pydantic``."""
    found = set(declared)
    for name in declared:
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:  # an extra's package not installed
            continue
        for line in requires:
            if "extra ==" not in line:
                found.add(_normalise(re.split(r"[\s<>=!~;\[(]", line, maxsplit=1)[0]))
    return found


def _third_party_imports() -> dict[str, set[str]]:
    """Imported top-level module -> the distributions that provide it (stdlib and self left out)."""
    providers = _module_providers()
    return {
        module: providers.get(module, set())
        for module in _imported_top_level_modules()
        if module not in sys.stdlib_module_names and module not in {"__future__", PACKAGE.name}
    }


def test_every_import_is_stdlib_or_a_declared_dependency() -> None:
    declared = _through(set(_runtime_requirements()) | set(_optional_requirements()))
    imports, where = _third_party_imports(), _imported_top_level_modules()
    undeclared = {m: where[m] for m, dists in imports.items() if not dists & declared}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_package_works_without_its_optional_extras() -> None:
    runtime = _through(set(_runtime_requirements()))
    optional_only = sorted(
        module for module, dists in _third_party_imports().items() if not dists & runtime
    )
    assert optional_only, "expected the [testing]/[progress] imports (vcr, tqdm) to be found"
    code = (
        "import importlib.abc, sys\n"
        f"BLOCKED = {optional_only!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in BLOCKED:\n"
        "            raise ImportError(name + ' needs an optional extra')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import langchain_openrouter_fenic as lof\n"
        "for name in lof.__all__: getattr(lof, name)\n"
        "lof.ChatOpenRouter(model='openai/gpt-4o-mini', api_key='k')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_runtime_dependency_has_a_tested_lower_bound() -> None:
    # .ci/run installs exactly these lower bounds once (uv --resolution lowest-direct)
    declared = _runtime_requirements()
    assert set(declared) >= {"langchain-core", "openai", "pydantic", "tenacity"}
    for name, spec in declared.items():
        assert ">=" in spec, f"{name} {spec!r}: every runtime dependency needs a lower bound"


def test_the_http_library_is_the_one_the_installed_sdk_is_built_on() -> None:
    modules = sdk_modules()
    assert modules.openai is openai
    assert modules.http.__name__ in THROUGH_OPENAI
    # openai 3.x is built on httpx2, 2.x on httpx; both may be installed side by side
    expected = "httpx2" if int(openai.__version__.split(".")[0]) >= 3 else "httpx"
    assert modules.http.__name__ == expected
    assert issubclass(openai.DefaultHttpxClient, modules.http.Client)


@pytest.mark.parametrize("module", sorted(THROUGH_OPENAI))
def test_the_package_never_imports_an_http_library_by_name(module: str) -> None:
    # only the SDK decides which one is used: a direct import would pick the wrong one beside
    # the other SDK line
    assert module not in _imported_top_level_modules()


def test_the_readme_states_the_declared_runtime_ranges() -> None:
    # "Supported versions" is what a user reads before installing: it must be what pip enforces
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme.split("## Supported versions", 1)[1].split("\n\n", 2)[1]
    assert "Runtime dependencies, each tested" in section, section[:80]
    stated = dict(re.findall(r"`([a-z][a-z0-9-]*)((?:[<>=!~]=?[0-9][0-9.]*,?)+)`", section))
    declared = {
        name: ",".join(sorted(spec.split(","))) for name, spec in _runtime_requirements().items()
    }
    assert {n: ",".join(sorted(s.split(","))) for n, s in stated.items()} == declared
