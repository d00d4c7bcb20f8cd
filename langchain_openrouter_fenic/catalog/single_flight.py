"""Single flight: at most one load per key at a time, shared by threads and event loops.

The catalog is loaded on first use; 50 concurrent first uses (threads, coroutines, or both, in
any event loop) must make one HTTP request, and a cancelled leader must not fail its waiters.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from .._process_local import ProcessLocal

__all__ = ["SingleFlight"]

_T = TypeVar("_T")


class _Interrupted(Exception):
    """The loading caller was cancelled; whoever waited on it loads again."""


class _Flights:
    """The loads in flight in one process, and their lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: dict[str, tuple[Future[Any], int, bool]] = {}


class SingleFlight:
    """At most one load per key at a time; everyone else waits for its result.

    The shared state is a ``concurrent.futures.Future`` so that sync threads and coroutines in
    any event loop can wait on the same load. A sync caller on the thread whose event loop runs
    the async load would block that loop forever, so it loads by itself instead. A forked child
    starts with no load in flight: a leader thread of the parent does not exist there.
    """

    def __init__(self) -> None:
        self._flights: ProcessLocal[_Flights] = ProcessLocal(_Flights)

    def _claim(self, key: str, is_async: bool) -> tuple[Future[Any], bool]:
        me = threading.get_ident()
        flights = self._flights.get()
        with flights.lock:
            call = flights.calls.get(key)
            if call is None:
                future: Future[Any] = Future()
                flights.calls[key] = (future, me, is_async)
                return future, True
            future, thread, leader_is_async = call
            if leader_is_async and thread == me and not is_async:
                return Future(), True  # unregistered: this caller loads alone
            return future, False

    def _finish(self, key: str, future: Future[Any]) -> None:
        flights = self._flights.get()
        with flights.lock:
            if flights.calls.get(key, (None,))[0] is future:
                del flights.calls[key]

    def _settle(
        self, key: str, future: Future[Any], result: Any = None, error: BaseException | None = None
    ) -> None:
        self._finish(key, future)
        if error is None:
            future.set_result(result)
        else:  # a cancelled or interrupted leader: its waiters load again
            future.set_exception(error if isinstance(error, Exception) else _Interrupted())

    def run(self, key: str, load: Callable[[], _T]) -> _T:
        while True:
            future, leader = self._claim(key, is_async=False)
            if leader:
                try:
                    result = load()
                except BaseException as exc:
                    self._settle(key, future, error=exc)
                    raise
                self._settle(key, future, result)
                return result
            try:
                return future.result()  # type: ignore[no-any-return]
            except _Interrupted:
                continue

    async def arun(self, key: str, load: Callable[[], Awaitable[_T]]) -> _T:
        while True:
            future, leader = self._claim(key, is_async=True)
            if leader:
                try:
                    result = await load()
                except BaseException as exc:
                    self._settle(key, future, error=exc)
                    raise
                self._settle(key, future, result)
                return result
            await _wait(future)
            try:
                return future.result()  # type: ignore[no-any-return]
            except _Interrupted:
                continue


async def _wait(future: Future[Any]) -> None:
    """Wait for a thread-safe future without letting our cancellation cancel it for others."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def release() -> None:
        if not waiter.done():
            waiter.set_result(None)

    def wake(_: Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(release)

    future.add_done_callback(wake)
    await waiter
