"""Declared = tested: after a ``--resolution lowest-direct`` install, every direct dependency
(runtime and dev) must be installed at exactly its declared lower bound. A bound that the
resolver cannot honour (another dependency asks for more) is a bound nobody tested: raise it.

    python .ci/lower_bounds.py   (in the venv of the lowest run)
"""

from __future__ import annotations

import importlib.metadata
import re
import sys

DISTRIBUTION = "langchain-openrouter-fenic"


def main() -> int:
    wrong = []
    checked = 0
    for line in importlib.metadata.requires(DISTRIBUTION) or []:
        match = re.match(r"([A-Za-z0-9_.-]+)[^;]*?>=\s*([0-9][^,;\s]*)", line)
        if not match:
            wrong.append(f"{line}: no lower bound")
            continue
        name, bound = match.groups()
        installed = importlib.metadata.version(name)
        checked += 1
        if _release(installed) != _release(bound):
            wrong.append(f"{name}: declared >={bound}, the lowest resolution installed {installed}")
    for problem in wrong:
        print(f"lower bound not tested: {problem}", file=sys.stderr)
    print(f"{checked} direct dependencies checked, {len(wrong)} lower bound(s) untested")
    return 1 if wrong else 0


def _release(version: str) -> tuple[int, ...]:
    """1.5 == 1.5.0; pre/post/local parts are not used by our bounds."""
    parts = [int(p) for p in re.findall(r"\d+", version.split("+")[0])[:3]]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


if __name__ == "__main__":
    sys.exit(main())
