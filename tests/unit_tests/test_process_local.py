"""The process-local mechanism itself: values, registries and locks start over in a forked child."""

from __future__ import annotations

import copy
import gc
import os
import threading

import pytest

from langchain_openrouter_fenic import _process_local
from langchain_openrouter_fenic._process_local import (
    ForkSafeLock,
    ProcessLocal,
    ProcessRegistry,
    at_fork_in_child,
    fork_generation,
)
from tests.support.forking import run_forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")


def test_a_value_is_made_once_per_process_and_again_in_a_forked_child() -> None:
    made: list[int] = []

    def factory() -> list[int]:
        made.append(os.getpid())
        return [os.getpid()]

    local = ProcessLocal(factory)
    assert local.peek() is None
    value = local.get()
    assert local.get() is value and local.peek() is value and made == [os.getpid()]

    def child() -> dict[str, object]:
        before = local.peek()
        mine = local.get()
        return {
            "peeked": before,
            "mine": mine,
            "same_object": mine is value,
            "generation": fork_generation(),
        }

    report, _ = run_forked(child)
    assert report["peeked"] is None
    assert not report["same_object"] and report["mine"] != value
    assert report["generation"] == fork_generation() + 1
    assert local.get() is value  # the parent's value is untouched


def test_a_registry_is_empty_in_a_forked_child() -> None:
    registry: ProcessRegistry[str, object] = ProcessRegistry("test")
    parent_value = registry.get_or_create("a", object)
    assert registry.get_or_create("a", object) is parent_value and len(registry) == 1

    def child() -> dict[str, object]:
        empty = len(registry) == 0 and registry.get("a") is None
        fresh = registry.get_or_create("a", object)
        return {"empty": empty, "fresh": fresh is not parent_value, "now": len(registry)}

    report, _ = run_forked(child)
    assert report == {"empty": True, "fresh": True, "now": 1}
    assert registry.get("a") is parent_value
    assert registry.pop("a") is parent_value and list(registry) == []


def test_locks_held_by_another_thread_at_the_fork_are_free_in_the_child() -> None:
    lock = ForkSafeLock()
    registry: ProcessRegistry[str, object] = ProcessRegistry("held")
    registry_lock = registry._entries.get().lock
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock, registry_lock:
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    try:

        def child() -> bool:
            with lock:
                registry.get_or_create("k", object)
                return not _process_local._making_lock._is_owned()  # type: ignore[attr-defined]

        report, _ = run_forked(child, timeout=15)
        assert lock.locked()  # still held in the parent
    finally:
        release.set()
        holder.join(5)
    assert report is True
    assert not lock.locked()


class _Counter:
    def __init__(self) -> None:
        self.calls = 0

    def bump(self) -> None:
        self.calls += 1


def test_fork_callbacks_run_in_the_child_only_and_hold_methods_weakly() -> None:
    seen: list[int] = []
    at_fork_in_child(lambda: seen.append(fork_generation()))
    counter = _Counter()
    at_fork_in_child(counter.bump)

    def child(counted: _Counter = counter) -> dict[str, object]:
        return {"seen": seen, "calls": counted.calls}

    report, _ = run_forked(child)
    assert report == {"seen": [fork_generation() + 1], "calls": 1}
    assert seen == [] and counter.calls == 0

    del counter, child
    gc.collect()
    report, _ = run_forked(lambda: len(seen))  # the dead method's callback is skipped quietly
    assert report == 1


def test_copies_of_a_process_local_start_without_a_value() -> None:
    local = ProcessLocal(dict)
    local.get()["x"] = 1
    for clone in (copy.copy(local), copy.deepcopy(local)):
        assert clone.peek() is None and clone.get() == {}
    local.reset()
    assert local.peek() is None and local.get() == {}
