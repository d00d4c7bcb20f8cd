"""The loopback emulator in a process of its own, for tests that fork.

A fork test needs a server that is neither the parent nor the child: with the emulator in a
thread of the test process, the child would inherit a copy of the server too. ::

    with emulator_process(chunk_count=5) as url:
        llm = ChatOpenRouter(model=..., api_key="k", base_url=url)

The default chat reply echoes the prompt (``"You said: <prompt>"``), so a nonce in each prompt
matches every answer to its request; answers crossing between processes show up as mismatches.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["echoed", "emulator_process"]

_ROOT = Path(__file__).resolve().parents[2]
_SERVE = """
import json, sys
from tests.support.emulator import OpenRouterEmulator
emulator = OpenRouterEmulator(**json.loads(sys.argv[1])).start()
print(emulator.url, flush=True)
sys.stdin.read()  # until the test closes our stdin
emulator.stop()
"""


def echoed(prompt: str) -> str:
    """The emulator's default answer to ``prompt`` (one that has no stop or token limit)."""
    return f"You said: {' '.join(prompt.split()[:50])}"


@contextlib.contextmanager
def emulator_process(**options: Any) -> Iterator[str]:
    """Start ``OpenRouterEmulator(**options)`` in a subprocess; yield its ``base_url``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, json.dumps(options)],
        cwd=_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the emulator process did not start (exit code {proc.poll()})")
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
