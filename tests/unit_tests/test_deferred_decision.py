"""The deferred structured-output decision: made once, and safe to copy, pickle and fork."""

from __future__ import annotations

import asyncio
import copy
import os
import pickle
import signal
import threading
import time
from typing import Any

import pytest
from langchain_core.runnables import Runnable, RunnableLambda

from langchain_openrouter_fenic.errors import StructuredOutputUnsupportedError
from langchain_openrouter_fenic.structured_output.deferred import _Decision, defer

CALLS: list[str] = []


def _upper(text: str) -> str:
    return text.upper()


def _decide() -> Runnable[Any, Any]:
    CALLS.append("sync")
    return RunnableLambda(_upper)


async def _adecide() -> Runnable[Any, Any]:
    CALLS.append("async")
    await asyncio.sleep(0)
    return RunnableLambda(_upper)


def _unsupported() -> Runnable[Any, Any]:
    CALLS.append("unsupported")
    raise StructuredOutputUnsupportedError("model x offers no structured-output strategy")


async def _aunsupported() -> Runnable[Any, Any]:
    return _unsupported()


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


async def test_decided_once_by_the_first_call_sync_or_async() -> None:
    chain = defer(_decide, _adecide)
    assert CALLS == []  # nothing decided while building
    results = await asyncio.gather(*(chain.ainvoke("a") for _ in range(5)))
    assert results == ["A"] * 5
    assert chain.invoke("b") == "B"
    assert [c async for c in chain.astream("c")] == ["C"]
    assert CALLS == ["async"]  # the concurrent first calls waited for one decision
    decision = _decision_of(chain)
    kept = decision._outcome
    await chain.ainvoke("d")
    assert decision._outcome is kept  # one pipeline for every call


def test_a_configuration_error_is_decided_once_and_raised_every_call() -> None:
    chain = defer(_unsupported, _aunsupported)
    for _ in range(3):
        with pytest.raises(StructuredOutputUnsupportedError, match="no structured-output"):
            chain.invoke("a")
    assert CALLS == ["unsupported"]


def test_a_transient_failure_is_not_kept() -> None:
    failures = iter([ConnectionError("catalog down")])

    def flaky() -> Runnable[Any, Any]:
        error = next(failures, None)
        if error is not None:
            raise error
        return _decide()

    chain = defer(flaky, _adecide)
    with pytest.raises(ConnectionError):
        chain.invoke("a")
    assert chain.invoke("a") == "A"  # decided on the call that could


def test_copies_and_pickles_decide_again_on_their_own() -> None:
    chain = defer(_decide, _adecide)
    assert chain.invoke("a") == "A"
    for clone in (copy.deepcopy(chain), pickle.loads(pickle.dumps(chain))):
        assert _decision_of(clone)._outcome is None
        assert clone.invoke("b") == "B"
    assert CALLS == ["sync", "sync", "sync"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_after_fork_a_lock_held_by_a_parent_thread_does_not_hang_the_child() -> None:
    chain = defer(_decide, _adecide)
    assert chain.invoke("a") == "A"
    decision = _decision_of(chain)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with decision._lock:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: the holder thread does not exist here
        try:
            ok = chain.invoke("child") == "CHILD" and CALLS == ["sync"]
        finally:
            os._exit(0 if ok else 1)
    release.set()
    holder.join()
    deadline = time.monotonic() + 20
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the lock its parent's thread held")
    assert os.waitstatus_to_exitcode(done[1]) == 0


def _decision_of(chain: Any) -> _Decision:
    decision = chain.func.__self__
    assert isinstance(decision, _Decision)
    return decision
