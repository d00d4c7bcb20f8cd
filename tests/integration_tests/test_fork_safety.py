"""Forked workers: every process-wide registry starts fresh in the child, and nothing deadlocks.

The emulator runs in a third process; each prompt carries a nonce that the emulator echoes, so
an answer read by the wrong process (a pooled connection shared across the fork) is caught.
Whether answers actually cross depends on timing; the emulator's log of which connection
carried each request does not: a connection that carried requests of two processes is the
parent's pooled socket reused in a child, however the timing fell.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_openrouter_fenic import ChatOpenRouter
from langchain_openrouter_fenic.catalog import ModelCatalog
from tests.support.emulator_process import EmulatorURL, echoed, emulator_process
from tests.support.forking import run_forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")

MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-fork-test"
CALLS = 40


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[EmulatorURL]:
    with emulator_process() as base_url:
        yield base_url


@pytest.fixture
def url(emulator_url: EmulatorURL) -> EmulatorURL:
    emulator_url.chat_log()  # what earlier tests sent is not this test's
    return emulator_url


def shared_connections(url: EmulatorURL, process_of: Callable[[str], str]) -> dict[int, list[str]]:
    """The connections that carried chat requests of more than one process (by prompt)."""
    senders: dict[int, set[str]] = {}
    for connection, prompt in url.chat_log():
        senders.setdefault(connection, set()).add(process_of(prompt))
    return {c: sorted(who) for c, who in senders.items() if len(who) > 1}


def child_or_parent(prompt: str) -> str:
    return "child" if prompt.startswith(("child", "locked")) else "parent"


def make(url: str, **options: Any) -> ChatOpenRouter:
    # a timeout: an answer another process read off a shared socket fails the call, not the suite
    options = {"max_retries": 0, "timeout": 30, **options}
    return ChatOpenRouter(model=MODEL, api_key=KEY, base_url=url, **options)


def ask_many(llm: ChatOpenRouter, who: str, calls: int = CALLS) -> dict[str, Any]:
    """``calls`` requests (invoke and stream alternately); what came back that was not ours."""
    wrong: list[str] = []
    for i in range(calls):
        prompt = f"{who}-{i}-{uuid.uuid4().hex}"
        try:
            if i % 2:
                text = "".join(str(c.content) for c in llm.stream(prompt))
            else:
                text = str(llm.invoke(prompt).content)
        except Exception as exc:
            wrong.append(f"{prompt}: {type(exc).__name__}: {exc}")
            continue
        if text != echoed(prompt):
            wrong.append(f"{prompt}: got {text!r}")
    return {"wrong": wrong}


async def aask_many(llm: ChatOpenRouter, who: str, calls: int) -> list[str]:
    wrong = []
    for i in range(calls):
        prompt = f"{who}-async-{i}-{uuid.uuid4().hex}"
        text = str((await llm.ainvoke(prompt)).content)
        if text != echoed(prompt):
            wrong.append(f"{prompt}: got {text!r}")
    return wrong


def test_after_os_fork_each_process_reads_only_its_own_answers(url: EmulatorURL) -> None:
    llm = make(url)
    assert llm.invoke("warm up the pool").content == echoed("warm up the pool")
    parent_transport, parent_limiter = llm._transport, llm.rate_limiter
    parent_catalog = llm.catalog

    first_r, first_w = os.pipe()

    def child() -> dict[str, Any]:
        # the first call alone, so that a pooled socket inherited from the parent would be
        # reused (it is idle): the connection log then shows it whatever the timing
        report = ask_many(llm, "child-first", 1)
        os.write(first_w, b".")
        report["wrong"] += ask_many(llm, "child")["wrong"]  # and then side by side
        fresh = make(url)
        report["wrong"] += ask_many(fresh, "child-new", 6)["wrong"]
        report["wrong"] += asyncio.run(aask_many(llm, "child", 4))
        report["same_transport"] = fresh._transport is parent_transport
        report["old_model_same_transport"] = llm._transport is parent_transport
        report["parent_limiter"] = fresh.rate_limiter is parent_limiter
        report["shared_limiter"] = fresh.rate_limiter is llm.rate_limiter
        report["parent_catalog"] = fresh.catalog is parent_catalog
        return report

    def parent() -> dict[str, Any]:
        select.select([first_r], [], [], 30)  # until the child's first answer
        return ask_many(llm, "parent")

    try:
        child_report, parent_report = run_forked(child, parent)
    finally:
        os.close(first_r)
        os.close(first_w)
    assert parent_report["wrong"] == []
    assert child_report["wrong"] == []
    assert shared_connections(url, child_or_parent) == {}
    # the child starts with registries of its own, and old and new models share them there
    assert not child_report["same_transport"]
    assert not child_report["old_model_same_transport"]
    assert not child_report["parent_limiter"]
    assert child_report["shared_limiter"]
    assert not child_report["parent_catalog"]
    # the parent's state is untouched by the child
    assert llm._transport is parent_transport and llm.rate_limiter is parent_limiter


_POOL_MODEL: ChatOpenRouter | None = None


def _pool_task(i: int) -> tuple[str, str]:
    assert _POOL_MODEL is not None
    prompt = f"worker-{os.getpid()}-{i}-{uuid.uuid4().hex}"
    if i % 2:
        return prompt, "".join(str(c.content) for c in _POOL_MODEL.stream(prompt))
    return prompt, str(_POOL_MODEL.invoke(prompt).content)


def worker_or_parent(prompt: str) -> str:
    """A pool worker's prompts carry its pid; everything else was sent by the parent."""
    return prompt.split("-")[1] if prompt.startswith("worker-") else "parent"


def test_multiprocessing_fork_pool_workers_read_only_their_own_answers(url: EmulatorURL) -> None:
    global _POOL_MODEL
    _POOL_MODEL = make(url)
    try:
        assert _POOL_MODEL.invoke("warm").content == echoed("warm")
        context = multiprocessing.get_context("fork")
        with context.Pool(2) as pool:
            # first alone (the parent's idle pooled socket, were it inherited, is reused: the
            # connection log shows it whatever the timing), then side by side with the parent
            answers = pool.map(_pool_task, range(2), chunksize=1)
            pending = pool.map_async(_pool_task, range(2, CALLS))
            mine = ask_many(_POOL_MODEL, "pool-parent")  # the parent keeps calling meanwhile
            answers += pending.get(timeout=120)
    finally:
        _POOL_MODEL = None
    assert mine["wrong"] == []
    assert [(p, t) for p, t in answers if t != echoed(p)] == []
    assert shared_connections(url, worker_or_parent) == {}


def test_a_fork_during_a_catalog_load_does_not_wait_for_the_parents_thread(url: str) -> None:
    """The parent's single-flight leader is mid-request at the fork: the child loads by itself."""
    parent_pid = os.getpid()
    release, entered = threading.Event(), threading.Event()
    real = ModelCatalog(url, KEY)

    def fetch(path: str) -> Any:
        if os.getpid() == parent_pid:
            entered.set()
            release.wait(30)  # the parent's load is stuck until the child is done
        return real._http.get(path)

    catalog = ModelCatalog(url, KEY, fetch_json=fetch)
    leader = threading.Thread(target=catalog.get, args=(MODEL,))
    leader.start()
    assert entered.wait(10)
    try:
        child_result, _ = run_forked(lambda: catalog.get(MODEL).id, timeout=30)
    finally:
        release.set()
        leader.join(10)
    assert child_result == MODEL


def _held_locks(llm: ChatOpenRouter) -> list[Any]:
    """Every lock of the process-wide state a call goes through."""
    from langchain_openrouter_fenic.rate_limits import shared
    from langchain_openrouter_fenic.wire import transport

    catalog = llm.catalog
    return [
        transport._SHARED._entries.get().lock,
        shared._SHARED._entries.get().lock,
        ModelCatalog._registry._entries.get().lock,
        llm._transport._clients.get().lock,
        llm.rate_limiter._core.lock,  # type: ignore[union-attr]
        llm.rate_limiter._core.state._lock,  # type: ignore[union-attr]
        catalog._state_lock,
        catalog._flight._flights.get().lock,
    ]


def test_a_child_forked_while_other_threads_hold_the_locks_does_not_deadlock(
    url: EmulatorURL,
) -> None:
    llm = make(url)
    llm.invoke("warm")
    locks = _held_locks(llm)
    holding, release = threading.Event(), threading.Event()

    def hold_all() -> None:
        for lock in locks:
            lock.acquire()
        holding.set()
        release.wait(60)
        for lock in reversed(locks):
            lock.release()

    holder = threading.Thread(target=hold_all)
    holder.start()
    assert holding.wait(10)

    def child() -> list[str]:
        ModelCatalog.clear_shared()
        wrong = ask_many(llm, "locked-child", 4)["wrong"]
        fresh = make(url, temperature=0.5)
        wrong += ask_many(fresh, "locked-new", 4)["wrong"]
        fresh.model_info()  # the catalog path: registry, state lock, single flight
        return wrong

    try:
        child_wrong, _ = run_forked(child, timeout=30)
    finally:
        release.set()
        holder.join(10)
    assert child_wrong == []
    assert shared_connections(url, child_or_parent) == {}
