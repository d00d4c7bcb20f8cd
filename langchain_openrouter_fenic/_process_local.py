"""Process-local state: what this package shares across calls starts fresh in a forked child.

Anything kept beyond one call and shared by instances — SDK clients and their connection pools,
shared rate limiters, shared catalogs, single-flight loads, and the locks that guard them —
belongs to ONE process. After ``os.fork()`` (gunicorn/Celery workers, ``multiprocessing``'s
"fork" context) the child holds a copy of the parent's memory, and every copy is wrong there:

- a pooled keep-alive socket is the parent's socket: both processes write requests on one
  connection and read each other's answers;
- a lock held by another parent thread at the fork stays held forever (that thread does not
  exist in the child): the child deadlocks on first use;
- an in-flight load (a future another thread would complete) never completes in the child.

So every such piece of state is kept in one of these, never in a bare module-level dict, lock
or lazily-made singleton:

- :class:`ProcessLocal` — one value per process, made by a factory on first use in each
  process. The parent's value is dropped in the child, never closed: its sockets belong to the
  parent, which keeps using them.
- :class:`ProcessRegistry` — a process-wide map (configuration key -> shared object), empty
  again in a forked child.
- :class:`ForkSafeLock` — a ``threading.Lock`` that is new, and so released, in a forked child.
- :func:`at_fork_in_child` — run a callback in the child right after a fork, after the three
  above have started over (for state that must be re-pointed at once, not on first use).

A fork is detected with a generation counter that ``os.register_at_fork(after_in_child=...)``
bumps, so checking costs one integer comparison per use. Where ``os.register_at_fork`` does not
exist (Windows) there is no fork, and nothing needs resetting. ``spawn`` and ``forkserver``
workers import the package afresh and start empty anyway.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Generic, TypeVar

__all__ = [
    "ForkSafeLock",
    "ProcessLocal",
    "ProcessRegistry",
    "at_fork_in_child",
    "fork_generation",
]

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")

# bumped in every forked child; a value made under another generation belongs to an ancestor
_generation = 0
# guards the making of ProcessLocal values; reentrant so that a factory may use another one
_making_lock = threading.RLock()
_callbacks: list[Callable[[], None]] = []


def fork_generation() -> int:
    """How many forks separate this process from the one that imported the package."""
    return _generation


def at_fork_in_child(callback: Callable[[], None]) -> None:
    """Run ``callback`` in every forked child, after process-local state has started over.

    Callbacks run in registration order, in the child's only thread, before ``os.fork()``
    returns there. Keep them short; an exception is printed by Python and does not stop the
    others. Bound methods are held weakly (their object may go away); plain functions strongly.
    """
    if hasattr(callback, "__self__") and hasattr(callback, "__func__"):
        method = weakref.WeakMethod(callback)

        def call_if_alive() -> None:
            target = method()
            if target is not None:
                target()

        _callbacks.append(call_if_alive)
    else:
        _callbacks.append(callback)


def _after_fork_in_child() -> None:
    global _generation, _making_lock
    _generation += 1
    _making_lock = threading.RLock()  # the parent may have forked while a thread held it
    for callback in list(_callbacks):
        try:
            callback()
        except Exception:  # one broken callback must not leave the others undone
            import traceback

            traceback.print_exc()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ProcessLocal(Generic[_T]):
    """One value per process: made by ``factory`` on first use, made again in a forked child.

    Use it for anything tied to the process that made it (sockets, locks, futures, waiters)::

        self._clients = ProcessLocal(_Clients)
        ...
        clients = self._clients.get()

    The factory runs under a process-wide lock, at most once per process: keep it cheap (build
    a holder with a lock; make the expensive thing lazily under that lock).
    """

    __slots__ = ("__weakref__", "_factory", "_generation", "_value")

    def __init__(self, factory: Callable[[], _T]) -> None:
        self._factory = factory
        self._generation = -1
        self._value: _T | None = None

    def get(self) -> _T:
        """This process's value (made now if this process has none yet)."""
        if self._generation == _generation:
            return self._value  # type: ignore[return-value]
        with _making_lock:
            if self._generation != _generation:
                self._value = self._factory()
                self._generation = _generation  # set after the value: readers check this first
        return self._value  # type: ignore[return-value]

    def peek(self) -> _T | None:
        """This process's value if it has been made, else None (never makes one)."""
        return self._value if self._generation == _generation else None

    def reset(self) -> None:
        """Forget this process's value; the next ``get`` makes a new one."""
        with _making_lock:
            self._generation = -1
            self._value = None

    def __repr__(self) -> str:
        made = "made" if self._generation == _generation else "not made"
        return f"ProcessLocal({getattr(self._factory, '__name__', self._factory)!r}, {made})"

    # a copy or a pickle of an object holding one starts without a value (made on first use)
    def __copy__(self) -> ProcessLocal[_T]:
        return ProcessLocal(self._factory)

    def __deepcopy__(self, memo: dict[int, Any]) -> ProcessLocal[_T]:
        return ProcessLocal(self._factory)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ProcessLocal, (self._factory,))


class ForkSafeLock:
    """A ``threading.Lock`` that is new (released) in a forked child; use it as ``with lock:``.

    A lock held by another thread when the process forks is held forever in the child, since
    that thread does not exist there. Never fork while holding one yourself.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock: ProcessLocal[threading.Lock] = ProcessLocal(threading.Lock)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.get().acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.get().release()

    def locked(self) -> bool:
        return self._lock.get().locked()

    def __enter__(self) -> bool:
        return self._lock.get().acquire()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.get().release()

    def __repr__(self) -> str:
        return f"ForkSafeLock(locked={self.locked()})"


class _Entries(Generic[_K, _V]):
    __slots__ = ("items", "lock")

    def __init__(self) -> None:
        self.items: dict[_K, _V] = {}
        self.lock = threading.Lock()


class ProcessRegistry(Generic[_K, _V]):
    """A process-wide map of shared objects by configuration key, empty in a forked child.

    ``get_or_create(key, factory)`` returns the object of ``key``, making it once per process::

        _TRANSPORTS: ProcessRegistry[tuple[str, str], Transport] = ProcessRegistry("transports")
        transport = _TRANSPORTS.get_or_create(key, lambda: Transport(...))

    Lookups of existing keys take no lock. ``factory`` runs under the registry's lock: keep it
    cheap (an object whose expensive parts are made lazily).
    """

    __slots__ = ("_entries", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: ProcessLocal[_Entries[_K, _V]] = ProcessLocal(_Entries)

    def get_or_create(self, key: _K, factory: Callable[[], _V]) -> _V:
        entries = self._entries.get()
        found = entries.items.get(key)
        if found is not None:
            return found
        with entries.lock:
            found = entries.items.get(key)
            if found is None:
                found = entries.items[key] = factory()
        return found

    def get(self, key: _K) -> _V | None:
        return self._entries.get().items.get(key)

    def pop(self, key: _K) -> _V | None:
        entries = self._entries.get()
        with entries.lock:
            return entries.items.pop(key, None)

    def clear(self) -> None:
        entries = self._entries.get()
        with entries.lock:
            entries.items.clear()

    def values(self) -> list[_V]:
        entries = self._entries.get()
        with entries.lock:
            return list(entries.items.values())

    def __len__(self) -> int:
        return len(self._entries.get().items)

    def __iter__(self) -> Iterator[_K]:
        return iter(list(self._entries.get().items))

    def __repr__(self) -> str:
        return f"ProcessRegistry({self.name!r}, {len(self)} entries)"
