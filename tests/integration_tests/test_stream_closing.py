"""Streams close on every exit: a mid-stream error, a cancellation, a consumer that stops early.

Closing means the HTTP response (its connection) and every async generator of the package
that read it: nothing is left for the event loop to finalise at shutdown, where generators are
closed in no particular order and asyncio reports "generator didn't stop after athrow()". Nor
is a generator of the package left to the loop's finaliser (``finalised_by_the_loop``): each
one is closed by the one that reads it, so the response closes as the stream ends, in order,
not in a finaliser task of its own (open descriptors alone would not show the difference: the
HTTP library closes a connection whose reader it finds dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.rate_limiters import InMemoryRateLimiter

import langchain_openrouter_fenic
from langchain_openrouter_fenic import ChatOpenRouter, errors
from tests.support.emulator import OpenRouterEmulator, Reply, running_emulator
from tests.support.emulator_process import emulator_process

PACKAGE = str(Path(langchain_openrouter_fenic.__file__).parent)
PROMPT = "tell me a long story about a fox in the snow, with many words in it"
on_linux = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="counts open descriptors in /proc (Linux)"
)


def make(url: str) -> ChatOpenRouter:
    return ChatOpenRouter(
        model="openai/gpt-4o-mini",
        api_key="sk-or-v1-stream-closing",
        base_url=url,
        max_retries=0,
        rate_limiter=InMemoryRateLimiter(requests_per_second=1e5),
    )


def suspended_package_generators() -> list[str]:
    """Async generators of the package started and not finished (a loop's client closer,
    which lives as long as its loop on purpose, aside)."""
    return [
        obj.__qualname__
        for obj in gc.get_objects()
        if inspect.isasyncgen(obj)
        and obj.ag_frame is not None
        and obj.ag_code.co_filename.startswith(PACKAGE)
        and obj.ag_code.co_name != "_closes_with"
    ]


@contextlib.contextmanager
def finalised_by_the_loop() -> Iterator[list[str]]:
    """Inside a running loop: the async generators of the package that the loop had to
    finalise (dropped without being closed), while the block runs."""
    found: list[str] = []
    hooks = sys.get_asyncgen_hooks()

    def finalizer(agen: Any) -> None:
        if agen.ag_code.co_filename.startswith(PACKAGE):
            found.append(agen.__qualname__)
        hooks.finalizer(agen)

    sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=finalizer)
    try:
        yield found
    finally:
        sys.set_asyncgen_hooks(firstiter=hooks.firstiter, finalizer=hooks.finalizer)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_failed_streams_gathered_leave_nothing_open_for_loop_shutdown() -> None:
    """30 concurrent streams that fail mid-way, gathered with ``return_exceptions=True``: the
    errors (and their tracebacks) outlive the loop, the generators must not."""
    reported: list[str] = []
    kept: list[Any] = []
    left_open: list[str] = []

    async def main(emulator: OpenRouterEmulator) -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: reported.append(str(context)))
        llm = make(emulator.url)
        emulator.enqueue(*[Reply.mid_stream_error(after_chunks=2) for _ in range(30)])

        async def one() -> list[Any]:
            return [chunk async for chunk in llm.astream(PROMPT)]

        results = await asyncio.gather(*(one() for _ in range(30)), return_exceptions=True)
        kept.extend(results)  # alive past the loop's shutdown, tracebacks and all
        left_open.extend(suspended_package_generators())

    with running_emulator(chunk_count=12, chunk_interval=0.002) as emulator:
        asyncio.run(main(emulator))
    failures = [r for r in kept if not isinstance(r, errors.ServerError)]
    assert len(kept) == 30 and failures == []
    assert left_open == []
    assert reported == []  # nothing for asyncio's exception handler at shutdown


@pytest.fixture(scope="module")
def slow_url() -> Iterator[str]:
    # in a process of its own: this process's descriptors are then the client's alone
    with emulator_process(chunk_count=200, chunk_interval=0.002) as url:
        yield url


@on_linux
def test_200_cancelled_streams_do_not_grow_the_pool(slow_url: str) -> None:
    async def main() -> tuple[int, int, list[str], list[str]]:
        llm = make(slow_url)
        await llm.ainvoke("warm up")  # the client, its pool and the catalog exist from here
        start = open_fds()
        with finalised_by_the_loop() as dropped:
            await cancel_200(llm)
        await asyncio.sleep(0.05)
        return start, open_fds(), suspended_package_generators(), dropped

    async def cancel_200(llm: ChatOpenRouter) -> None:
        for _ in range(200):
            first = asyncio.Event()

            async def read(first: asyncio.Event = first) -> None:
                async for _chunk in llm.astream(PROMPT):
                    first.set()

            task = asyncio.create_task(read())
            # mid-stream. (A cancellation a few steps after the request starts is swallowed by
            # httpcore 1.0.9 (openai 2.x) and httpcore2 2.14, not 2.16: the stream runs to its end.)
            await first.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    start, end, left_open, dropped = asyncio.run(main())
    assert end <= start + 2, f"{end - start} more descriptors after 200 cancelled streams"
    assert left_open == []
    assert dropped == []  # every response was closed by the cancellation itself


@on_linux
def test_consumers_that_stop_early_close_the_response(slow_url: str) -> None:
    llm = make(slow_url)
    llm.invoke("warm up")
    start = open_fds()
    for _ in range(50):
        for _chunk in llm.stream(PROMPT):
            break
    assert open_fds() <= start + 2

    async def main() -> tuple[int, int, list[str], list[str]]:
        await llm.ainvoke("warm up")
        before = open_fds()
        with finalised_by_the_loop() as dropped:
            for _ in range(50):
                # the stream dropped here is LangChain's: the loop finalises it, soon, and
                # that closes ours and the response (not left for the loop to find)
                async for _chunk in llm.astream(PROMPT):
                    break
            await asyncio.sleep(0.05)
        return before, open_fds(), suspended_package_generators(), dropped

    before, after, left_open, dropped = asyncio.run(main())
    assert after <= before + 2
    assert left_open == []
    # LangChain's astream (some versions) drops the generator it reads, ours, unclosed; the
    # loop's finaliser closes it, and that closes every one under it and the response
    assert set(dropped) <= {"ChatOpenRouter._astream"}
