"""Declared = imported: every module the package imports is the standard library, the package
itself, or a declared runtime dependency (the SDK's HTTP library comes through ``openai``)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import openai
import pytest

from langchain_openrouter_fenic.wire.transport import sdk_modules

PACKAGE = Path(__file__).resolve().parents[2] / "langchain_openrouter_fenic"
DISTRIBUTION = "langchain-openrouter-fenic"
# imported by name at run time from the SDK's own client class (wire/transport.py: sdk_modules)
THROUGH_OPENAI = {"httpx", "httpx2"}


def _runtime_requirements() -> dict[str, str]:
    """Declared runtime requirements (no extras): normalised name -> version specifier."""
    found = {}
    for line in importlib.metadata.requires(DISTRIBUTION) or []:
        if "extra ==" in line:
            continue
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", line)
        assert match, line
        found[_normalise(match.group(1))] = match.group(2).split(";")[0].strip()
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


def test_every_import_is_stdlib_or_a_declared_dependency() -> None:
    declared = _runtime_requirements()
    providers = _module_providers()
    undeclared = {}
    for module, where in _imported_top_level_modules().items():
        if module in sys.stdlib_module_names or module in {"__future__", PACKAGE.name}:
            continue
        if not providers.get(module, set()) & set(declared):
            undeclared[module] = where
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


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
