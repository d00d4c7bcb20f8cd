"""The loopback emulator in a process of its own, for tests that fork.

A fork test needs a server that is neither the parent nor the child: with the emulator in a
thread of the test process, the child would inherit a copy of the server too. ::

    with emulator_process(chunk_count=5) as url:
        llm = ChatOpenRouter(model=..., api_key="k", base_url=url)

The default chat reply echoes the prompt (``"You said: <prompt>"``), so a nonce in each prompt
matches every answer to its request; answers crossing between processes show up as mismatches.
Whether they cross depends on timing, so the emulator also says which connection carried each
chat request (``url.chat_log()``): a connection that carried requests of two processes is a
pooled socket shared across a fork, however the timing fell.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["EmulatorURL", "echoed", "emulator_process"]

_ROOT = Path(__file__).resolve().parents[2]
_SERVE = """
import json, sys
from tests.support.emulator import OpenRouterEmulator
emulator = OpenRouterEmulator(**json.loads(sys.argv[1])).start()
print(emulator.url, flush=True)
told = 0
for line in sys.stdin:  # commands, until the test closes our stdin
    if line.strip() == "chat-log":
        chats = [r for r in list(emulator.requests) if r.path.endswith("/chat/completions")]
        log = [[r.connection, (r.json or {}).get("messages", [{}])[-1].get("content")]
               for r in chats[told:]]
        told = len(chats)
        print(json.dumps(log), flush=True)
emulator.stop()
"""


class EmulatorURL(str):
    """The ``base_url`` of an emulator process, which can also be asked what it served."""

    _process: subprocess.Popen[bytes]

    def chat_log(self) -> list[tuple[int, str]]:
        """(connection number, last message's text) of each chat request since the last call."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(b"chat-log\n")
        stdin.flush()
        return [(int(number), str(text)) for number, text in json.loads(stdout.readline())]


def echoed(prompt: str) -> str:
    """The emulator's default answer to ``prompt`` (one that has no stop or token limit)."""
    return f"You said: {' '.join(prompt.split()[:50])}"


@contextlib.contextmanager
def emulator_process(**options: Any) -> Iterator[EmulatorURL]:
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
        handle = EmulatorURL(url)
        handle._process = proc
        yield handle
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
