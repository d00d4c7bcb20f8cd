"""One async client per event loop, closed while that loop shuts down.

An async SDK client's pooled connections belong to the event loop that opened them, so each
loop gets a client of its own. A client must not outlive its loop: a service that runs
``asyncio.run(...)`` per job makes a new loop per job, and a client kept per loop (its
connections refer to the loop, so a weak reference to the loop never dies) leaks a client
and its sockets per job until the process runs out of file descriptors.

How a loop's end is noticed: each client comes with a small async generator, started on its
loop. A loop finalises its live async generators when it shuts down
(``loop.shutdown_asyncgens()``, which ``asyncio.run`` and ``asyncio.Runner`` call before
closing the loop); the generator's ``finally`` then closes the client — its connections are
closed properly, on their own loop, while it still runs — and forgets it. A loop closed
without that step (a bare ``loop.close()``) is noticed the next time any loop asks for a
client: its client is forgotten and collected at once, which closes its sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

__all__ = ["LoopClients"]

_C = TypeVar("_C")


class _Entry(Generic[_C]):
    __slots__ = ("client", "closer")

    def __init__(self, client: _C) -> None:
        self.client = client
        self.closer: AsyncIterator[None] | None = None


class LoopClients(Generic[_C]):
    """The clients of the running event loops: ``get()`` returns the running loop's.

    Args:
        make: builds a client (called once per loop, in that loop's thread).
        close: closes a client, awaited on its own loop while that loop shuts down.
    """

    def __init__(self, make: Callable[[], _C], close: Callable[[_C], Awaitable[None]]) -> None:
        self._make, self._close = make, close
        self._lock = threading.Lock()
        self._by_loop: dict[asyncio.AbstractEventLoop, _Entry[_C]] = {}

    def current(self) -> _C | None:
        """The running loop's client if it has one (never makes one)."""
        entry = self._by_loop.get(asyncio.get_running_loop())
        return entry.client if entry is not None else None

    def get(self) -> _C:
        """The running loop's client (made now if it has none). Call it inside a coroutine."""
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is not None:
            return entry.client
        with self._lock:
            stale = [(old, e) for old, e in self._by_loop.items() if old.is_closed()]
            for old, _ in stale:
                del self._by_loop[old]
            entry = self._by_loop.get(loop)
            if entry is None:
                entry = self._by_loop[loop] = _Entry(self._make())
                entry.closer = self._closes_with(loop, entry)
                _start(entry.closer)
        for _, dead in stale:
            _finish(dead.closer)
        if stale:
            # their connections belong to a closed loop and cannot be closed on it; they hold
            # their sockets in reference cycles, so collect them now instead of whenever the
            # collector runs (a full collection: with older httpx/httpcore they reach the oldest
            # generation); only after a loop that closed without finalising
            del dead
            stale.clear()
            gc.collect()
        return entry.client

    def __len__(self) -> int:
        """How many clients are alive (one per loop that has not shut down)."""
        return len(self._by_loop)

    async def _closes_with(
        self, loop: asyncio.AbstractEventLoop, entry: _Entry[_C]
    ) -> AsyncIterator[None]:
        try:
            yield  # suspended here for the loop's lifetime; its aclose() is the loop's end
        finally:
            with self._lock:
                if self._by_loop.get(loop) is entry:
                    del self._by_loop[loop]
            if not loop.is_closed():
                with contextlib.suppress(Exception):  # nothing is left to report it to
                    await self._close(entry.client)


def _start(closer: AsyncIterator[None]) -> None:
    """Run ``closer`` to its ``yield`` now, in the running loop's thread.

    Calling ``__anext__`` is what registers an async generator with the running loop (its
    first-iteration hook), so that the loop finalises it at shutdown. The generator awaits
    nothing before its ``yield``, so one ``send`` runs it there.
    """
    step: Any = closer.__anext__()
    with contextlib.suppress(StopIteration):
        step.send(None)


def _finish(closer: AsyncIterator[None] | None) -> None:
    """Close the generator of a loop that closed without finalising it (awaits nothing)."""
    aclose = getattr(closer, "aclose", None)
    if aclose is None:
        return
    step: Any = aclose()
    with contextlib.suppress(StopIteration, RuntimeError):
        step.send(None)
