"""Python code blocks of the Markdown docs, for the docs-execution test.

A block is a fenced block whose info string is ``python`` or ``py``. The line right before its
opening fence may carry a marker (an HTML comment, invisible when rendered)::

    <!-- docs-test: skip (why this block cannot run: e.g. it shows a fragment) -->
    <!-- docs-test: separate -->  (run in a fresh namespace instead of after the blocks above)

Blocks of one file otherwise run in order in one namespace, like a notebook. A skip needs its
reason in parentheses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DocBlock", "MarkerError", "doc_blocks", "documented_files"]

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
_SKIP = re.compile(r"^skip\s*\((?P<reason>.*\S.*)\)$")
PYTHON_INFO = {"python", "py", "python3"}


class MarkerError(ValueError):
    """A ``docs-test`` marker that does not follow the convention."""


@dataclass(frozen=True)
class DocBlock:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    skip_reason: str | None = None
    separate: bool = False

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


def documented_files(root: Path) -> list[Path]:
    """README.md and every docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def doc_blocks(path: Path) -> list[DocBlock]:
    """The Python blocks of one Markdown file, with their markers."""
    lines = path.read_text("utf-8").splitlines()
    blocks: list[DocBlock] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, info = opening["fence"], opening["info"].strip().split(" ")[0].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(opening["indent"]) :])
            j += 1
        marker = _MARKER.match(lines[i - 1]) if i > 0 else None
        if info in PYTHON_INFO:
            skip, separate = _parse_marker(marker["body"] if marker else None, path, i + 1)
            blocks.append(DocBlock(path, i + 1, "\n".join(body) + "\n", skip, separate))
        elif marker:
            raise MarkerError(f"{path.name}:{i + 1}: a docs-test marker before a non-Python block")
        i = j + 1
    return blocks


def _parse_marker(body: str | None, path: Path, line: int) -> tuple[str | None, bool]:
    if body is None:
        return None, False
    if body == "separate":
        return None, True
    skip = _SKIP.match(body)
    if skip:
        return skip["reason"].strip(), False
    raise MarkerError(
        f"{path.name}:{line}: unknown marker <!-- docs-test: {body} -->; use "
        "'skip (the reason)' or 'separate'"
    )
