"""Docs that run: every Python block of README.md and docs/*.md, against the loopback emulator.

``OPENROUTER_API_KEY`` and ``OPENROUTER_API_BASE`` point every ``ChatOpenRouter(...)`` in the
docs at the emulator, which serves the real catalog snapshot, so a block runs as a reader would
run it. The marker convention (skip with a reason, separate namespace) is in
``tests/support/doc_blocks.py`` and docs/index.md.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.doc_blocks import DocBlock, MarkerError, doc_blocks, documented_files
from tests.support.emulator import OpenRouterEmulator

ROOT = Path(__file__).resolve().parents[2]
FILES = documented_files(ROOT)
WITH_BLOCKS = [path for path in FILES if doc_blocks(path)]


@pytest.fixture(scope="module")
def docs_emulator() -> Iterator[OpenRouterEmulator]:
    with OpenRouterEmulator() as emulator:
        yield emulator


def _run(block: DocBlock, namespace: dict[str, Any]) -> None:
    try:
        exec(compile(block.code, block.where, "exec"), namespace)
        return
    except Exception:
        failure = traceback.format_exc(limit=-3)
    pytest.fail(
        f"the Python block at {block.where} raised:\n{failure}\n--- block ---\n{block.code}\n"
        "Fix the block, or mark it (see docs/index.md): <!-- docs-test: skip (the reason) -->",
        pytrace=False,
    )


@pytest.mark.parametrize("path", WITH_BLOCKS, ids=[p.name for p in WITH_BLOCKS])
def test_python_blocks_run(
    path: Path,
    docs_emulator: OpenRouterEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "docs-test-key")
    monkeypatch.setenv("OPENROUTER_API_BASE", docs_emulator.url)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    ran = 0
    for block in doc_blocks(path):
        if block.skip_reason is not None:
            continue
        if block.separate:
            namespace = {"__name__": "__docs__"}
        _run(block, namespace)
        ran += 1
    assert ran, f"{path.name}: every Python block is skipped"


def test_the_harness_finds_the_blocks_it_must_run() -> None:
    # a parser that silently found nothing would make every docs test pass
    readme = doc_blocks(ROOT / "README.md")
    assert readme and "ChatOpenRouter(" in readme[0].code
    assert {p.name for p in WITH_BLOCKS} >= {"README.md", "routing.md", "explain.md"}


def test_every_python_fence_is_a_block_the_harness_runs() -> None:
    # counted apart from the parser, at any indentation: a fence it missed (say, one nested
    # four spaces deep in a list) would be a block that nobody runs
    fence = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[ \t]*(?:python3?|py)\b", re.I | re.M)
    for path in FILES:
        assert len(fence.findall(path.read_text("utf-8"))) == len(doc_blocks(path)), path.name


def test_every_skip_says_why() -> None:
    for path in FILES:
        for block in doc_blocks(path):  # raises MarkerError for a malformed marker
            assert block.skip_reason is None or len(block.skip_reason) >= 10, block.where


@pytest.mark.parametrize(
    ("marker", "problem"),
    [
        ("<!-- docs-test: skip -->", "unknown marker"),
        ("<!-- docs-test: skip () -->", "unknown marker"),
        ("<!-- docs-test: ignore (x) -->", "unknown marker"),
    ],
)
def test_a_malformed_marker_is_an_error(tmp_path: Path, marker: str, problem: str) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(f"text\n{marker}\n```python\nraise SystemExit\n```\n")
    with pytest.raises(MarkerError, match=problem):
        doc_blocks(doc)


def test_markers_and_fences(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- docs-test: skip (shows a fragment of a larger program) -->\n"
        "```python\nfragment(...)\n```\n"
        "```bash\necho not python\n```\n"
        "<!-- docs-test: separate -->\n"
        "````py\nx = 1\n```\nstill inside\n````\n"
    )
    skipped, separate = doc_blocks(doc)
    assert (skipped.skip_reason, skipped.line) == ("shows a fragment of a larger program", 2)
    assert separate.separate and separate.code == "x = 1\n```\nstill inside\n"
