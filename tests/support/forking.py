"""Run a function in a child made by ``os.fork()`` and get its JSON report back, with a timeout.

A child that hangs (a deadlock on a lock inherited held) is killed and reported as such, so a
fork test fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["ChildHung", "run_forked"]


class ChildHung(AssertionError):
    """The forked child did not finish in time (it was killed)."""


def run_forked(
    child: Callable[[], Any],
    parent: Callable[[], Any] | None = None,
    *,
    timeout: float = 60.0,
) -> tuple[Any, Any]:
    """Fork; run ``child()`` in the child and ``parent()`` here at the same time.

    Returns ``(child's result, parent's result)``; the child's must be JSON-serialisable. An
    exception in the child is re-raised here as an AssertionError with its traceback.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 0
        try:
            os.close(read_end)
            try:
                payload = {"result": child()}
            except BaseException:
                payload = {"error": traceback.format_exc()}
            data = json.dumps(payload).encode()
            while data:
                data = data[os.write(write_end, data) :]
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        parent_result = parent() if parent is not None else None
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(0.0, left))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                raise ChildHung(f"the forked child did not finish within {timeout:g} s")
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    payload = json.loads(b"".join(chunks) or b"{}")
    if "error" in payload:
        raise AssertionError(f"the forked child failed:\n{payload['error']}")
    if "result" not in payload:
        raise AssertionError("the forked child exited without a report")
    return payload["result"], parent_result
