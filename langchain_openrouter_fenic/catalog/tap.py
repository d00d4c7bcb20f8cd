"""A process-wide tap on the catalog's traffic, for recording and replaying tests.

``langchain_openrouter_fenic.testing`` installs one around a test that uses cassettes: it answers
every catalog GET (``/models``, ``/models/user``, ``/models/{slug}/endpoints``) -- from a committed
file on replay, through the real transport while recording -- and is told the id of every entry
a lookup found, so that the file keeps only the models the tests used. Nothing is installed in
normal use: each hook costs one ``None`` check. Process-wide (not per context) because catalogs
are shared by every thread and event loop of the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from .._process_local import ForkSafeLock

__all__ = ["CatalogTap", "installed", "tapped"]


class CatalogTap(Protocol):
    """What a catalog asks an installed tap (``path`` is relative to ``base_url``)."""

    def get(self, base_url: str, path: str, fetch: Callable[[], Any]) -> Any:
        """The decoded answer to ``GET {base_url}{path}``; ``fetch`` sends it for real."""
        ...

    async def aget(self, base_url: str, path: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        """The async :meth:`get`."""
        ...

    def found(self, model_id: str) -> None:
        """A lookup found the entry ``model_id`` (the entry's own id, after aliases)."""
        ...


# a forked child (a worker started by a test) keeps the tap, so it replays too; the lock is new
_lock = ForkSafeLock()
_tap: CatalogTap | None = None


def installed() -> CatalogTap | None:
    """The installed tap, or None (normal use)."""
    return _tap


@contextmanager
def tapped(tap: CatalogTap) -> Iterator[CatalogTap]:
    """Install ``tap`` until the block ends; one tap at a time."""
    global _tap
    with _lock:
        if _tap is not None:
            raise RuntimeError(
                "A catalog tap is already installed: one recorded-catalog session at a time "
                "(is a cassette session nested in another?)."
            )
        _tap = tap
    try:
        yield tap
    finally:
        with _lock:
            _tap = None
