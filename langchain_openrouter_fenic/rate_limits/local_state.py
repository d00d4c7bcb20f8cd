"""Limiter state kept in this process: one ``policy.State`` under a lock.

Also the fallback of ``redis_state`` while Redis cannot be reached. The lock is new in a forked
child (a parent thread may hold it at the fork); the state itself is inherited, as what the
parent learnt about the key's limits is still true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from .._process_local import ForkSafeLock
from . import policy
from .policy import Grant, Refusal, Signal, Ticket, Tuning

__all__ = [
    "LOCAL",
    "SHARED",
    "LocalState",
    "StateStore",
    "TicketKey",
    "View",
    "own_ticket",
    "seconds_to_utc_midnight",
    "view_of",
]

# a grant as its holder keeps it: (which state issued it, the ticket)
TicketKey = tuple[int, Ticket]

# which state answered (``View.origin``): this process's, or one other processes change too
# (Redis), whose grants may be confirmed when their slot comes after a wait (``policy.confirm``,
# ``limiter._Core.must_confirm``)
LOCAL, SHARED = 0, 1


def own_ticket(key: TicketKey | None, origin: int) -> Ticket | None:
    """The ticket of ``key`` if the state ``origin`` issued it (another state's means nothing)."""
    return key[1] if key is not None and key[0] == origin else None


@dataclass(frozen=True, slots=True)
class View:
    """What an operation tells the limiter about the state it left (instants on ``now``'s clock)."""

    now: float
    rate: float  # 0: unpaced
    cool: float
    plan: float
    epoch: float
    b_lim: float
    b_id: float  # which budget (the reset instant that made it)
    b_start: float
    b_end: float
    b_used: float
    d_lim: float
    d_used: float
    d_end: float
    origin: int  # which state answered: 0 in-process, 1 Redis


class StateStore(Protocol):
    """Where a limiter's state lives: ``LocalState`` or ``RedisState``.

    ``acquire(max_wait, held)``: a grant; ``held`` (a grant of this state, or None) is given
    back first, or with ``confirm=True`` checked: kept if still good, else given back.
    """

    def acquire(
        self, max_wait: float, held: TicketKey | None, *, confirm: bool = False
    ) -> tuple[Grant | Refusal, View]: ...

    async def aacquire(
        self, max_wait: float, held: TicketKey | None, *, confirm: bool = False
    ) -> tuple[Grant | Refusal, View]: ...

    def release(self, key: TicketKey) -> None: ...

    def report_success(self, key: TicketKey | None, then: Callable[[View], None]) -> None: ...

    def report_limited(
        self, signal: Signal, key: TicketKey | None, then: Callable[[float, View], None]
    ) -> None: ...

    def peek(self) -> View: ...

    def listen(self, on_plan: Callable[[float], None]) -> None:
        """``on_plan(plan)`` for plan changes made elsewhere (other processes)."""

    def watch_token(self, *, start: bool = False) -> int | None:
        """The live subscription to plan changes made elsewhere (None: none)."""


def view_of(state: policy.State, now: float, origin: int) -> View:
    return View(
        now,
        state.rate,
        state.cool,
        state.plan,
        state.epoch,
        state.b_lim,
        state.b_id,
        state.b_start,
        state.b_end,
        state.b_used,
        state.d_lim,
        state.d_used,
        state.d_end,
        origin,
    )


def seconds_to_utc_midnight(wall_now: float) -> float:
    day = datetime.fromtimestamp(wall_now, tz=timezone.utc).date()
    midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()
    return midnight + policy.DAY - wall_now


class LocalState:
    """The policy over an in-process state; every method is one locked decision."""

    ORIGIN = LOCAL

    def __init__(
        self, tuning: Tuning, clock: Callable[[], float], wall_clock: Callable[[], float]
    ) -> None:
        self.tuning = tuning
        self._clock = clock
        self._lock = ForkSafeLock()
        now = clock()
        self._state = policy.initial_state(
            tuning, now, day_end=now + seconds_to_utc_midnight(wall_clock())
        )

    def acquire(
        self, max_wait: float, held: TicketKey | None, *, confirm: bool = False
    ) -> tuple[Grant | Refusal, View]:
        with self._lock:
            now = self._clock()
            ticket = own_ticket(held, self.ORIGIN)
            if ticket is not None and confirm:
                decision = policy.confirm(self._state, self.tuning, now, ticket, max_wait)
            else:
                if ticket is not None:
                    policy.release(self._state, self.tuning, now, ticket)
                decision = policy.acquire(self._state, self.tuning, now, max_wait)
            return decision, view_of(self._state, now, self.ORIGIN)

    async def aacquire(
        self, max_wait: float, held: TicketKey | None, *, confirm: bool = False
    ) -> tuple[Grant | Refusal, View]:
        return self.acquire(max_wait, held, confirm=confirm)

    def release(self, key: TicketKey) -> None:
        ticket = own_ticket(key, self.ORIGIN)
        if ticket is not None:
            with self._lock:
                policy.release(self._state, self.tuning, self._clock(), ticket)

    def success(self, key: TicketKey | None) -> View:
        with self._lock:
            now = self._clock()
            policy.on_success(self._state, self.tuning, now, own_ticket(key, self.ORIGIN))
            return view_of(self._state, now, self.ORIGIN)

    def limited(self, signal: Signal, key: TicketKey | None) -> tuple[float, View]:
        with self._lock:
            now = self._clock()
            ticket = own_ticket(key, self.ORIGIN)
            outcome = policy.on_rate_limited(self._state, self.tuning, now, signal, ticket)
            return outcome, view_of(self._state, now, self.ORIGIN)

    def peek(self) -> View:
        with self._lock:
            now = self._clock()
            policy.refresh(self._state, self.tuning, now)
            return view_of(self._state, now, self.ORIGIN)

    # nothing changes this state but this process: nothing to be told
    def listen(self, on_plan: Callable[[float], None]) -> None:
        return None

    def watch_token(self, *, start: bool = False) -> int | None:
        return None

    # feedback with a continuation: the interface the limiter uses for both states
    # (``RedisState`` sends it from a worker thread)
    def report_success(self, key: TicketKey | None, then: Callable[[View], None]) -> None:
        then(self.success(key))

    def report_limited(
        self, signal: Signal, key: TicketKey | None, then: Callable[[float, View], None]
    ) -> None:
        then(*self.limited(signal, key))
