"""Declared = tested: after a ``--resolution lowest-direct`` install, every direct dependency
(runtime, extras and dev) must be installed at exactly its declared lower bound. A bound that
the resolver cannot honour (another dependency asks for more) is a bound nobody tested: raise it.

    python .ci/lower_bounds.py   (in the venv of the lowest run)

tests/unit_tests/test_ci_steps.py tests ``untested_bounds`` on made-up requirements.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from collections.abc import Callable, Iterable

DISTRIBUTION = "langchain-openrouter-fenic"


def untested_bounds(requirements: Iterable[str], installed: Callable[[str], str]) -> list[str]:
    """One line per requirement not installed at exactly its lower bound (or without one).

    ``requirements`` are ``importlib.metadata.requires`` lines (``name>=1.2,<2; extra == "x"``);
    ``installed(name)`` is the installed version (raises ``PackageNotFoundError`` if absent).
    """
    wrong = []
    for line in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)[^;]*?>=\s*([0-9][^,;\s]*)", line)
        if not match:
            wrong.append(f"{line}: no lower bound")
            continue
        name, bound = match.groups()
        try:
            version = installed(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name}: declared >={bound}, not installed by the lowest run")
            continue
        if _release(version) != _release(bound):
            wrong.append(f"{name}: declared >={bound}, the lowest resolution installed {version}")
    return wrong


def main() -> int:
    requirements = importlib.metadata.requires(DISTRIBUTION) or []
    wrong = untested_bounds(requirements, importlib.metadata.version)
    for problem in wrong:
        print(f"lower bound not tested: {problem}", file=sys.stderr)
    print(f"{len(requirements)} direct dependencies checked, {len(wrong)} lower bound(s) untested")
    return 1 if wrong else 0


def _release(version: str) -> tuple[int, ...]:
    """1.5 == 1.5.0; pre/post/local parts are not used by our bounds."""
    parts = [int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3]]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


if __name__ == "__main__":
    sys.exit(main())
