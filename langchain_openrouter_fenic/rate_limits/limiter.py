"""``AdaptiveRateLimiter``: a LangChain rate limiter that learns OpenRouter's limits from 429s.

The decisions are ``policy``'s (pure functions over a flat state); the state lives in this
process (``local_state``) or in Redis (``redis_state``, shared by every process and host of a
key). This module does the rest: waiting (threads and asyncio tasks, woken when a 429 changes
the plan), the bound on a wait (``max_wait``: a longer wait raises ``RateLimitError`` at once),
the feedback of each request, and the log lines.

- **Free when nothing limits.** Until the first 429 every acquire is granted at once.
- **Paced after 429s.** AIMD from the rate the server let through, GCRA slots, one decrease per
  burst of 429s, cooldown deadlines, window budgets spent as fast as the callers ask.
- **Sleeping is local.** A caller takes its slot in one decision and sleeps in its process
  (never holding a lock or a connection); a 429 that delays slots already granted wakes the
  waiters of this process, who ask again.
- **A waited-for shared slot is used as granted when nothing can have voided it.** Another
  process may void a slot granted here while its caller sleeps (a plan change: a decrease after
  its 429, a longer pause, a new window budget, a re-plan after a large increase). The decision
  script publishes every new plan and this process subscribes to it (``plan_watch``): a plan
  change wakes the waiters, who ask again. A slot asked for and due under one live
  subscription is used without asking again (one round trip per acquire); so is one for which
  an answer taken at or after the slot shows the grant's plan. Otherwise (the subscription not
  live, or ``redis_notifications=False``) it is confirmed when it comes (``policy.confirm``, one
  more round trip); a grant held for a window's probe always asks again.
  ``_Core.must_confirm`` is the one place that decides it. A change reaches the process after
  the delivery delay, so the policy never hands out again the time of slots granted for the
  next ``policy.PLAN_GUARD`` (0.1 s): a slot used before its waiter heard is not double-booked.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib.util
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from langchain_core.rate_limiters import BaseRateLimiter

from .._process_local import ForkSafeLock, ProcessLocal
from . import policy, waits
from .local_state import SHARED, LocalState, StateStore, View
from .policy import NEVER, Grant, Refusal, Signal, Ticket, Tuning
from .signals import RateLimitSignal

__all__ = ["AdaptiveRateLimiter", "WindowBudget", "bounded_by"]

logger = logging.getLogger(__name__)

FREE_DAILY_PAUSE = 26 * 3600.0  # a :free daily quota resets within a day: it may pause the scope


@dataclass(frozen=True, slots=True)
class WindowBudget:
    """At most ``limit`` admissions in ``[start, end)`` (limiter clock seconds)."""

    limit: int
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class _Held:
    """A grant held by a caller: which state issued it, when it is due (limiter clock)."""

    ticket: Ticket
    origin: int
    due: float
    version: int  # the plan version it was granted under
    watch: int | None = None  # the live plan subscription it was asked for under (``plan_watch``)

    @property
    def key(self) -> tuple[int, Ticket]:
        return self.origin, self.ticket


# the last admission of this thread / asyncio task: (id of the limiter's core, the grant)
_LAST_ADMISSION: contextvars.ContextVar[tuple[int, _Held] | None] = contextvars.ContextVar(
    "openrouter_last_admission", default=None
)


class _ThreadWaiter:
    """A thread's wait for its slot, which a new plan can cut short."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def arm(self) -> None:
        self._event.clear()

    def wait(self, seconds: float) -> None:
        self._event.wait(max(0.0, seconds))

    def wake(self) -> None:
        self._event.set()


class _TaskWaiter:
    """An asyncio task's wait for its slot; ``wake`` may be called from any thread."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._future: asyncio.Future[None] = self._loop.create_future()

    def arm(self) -> None:
        self._future = self._loop.create_future()

    async def wait(self, seconds: float) -> None:
        timer = self._loop.call_later(max(0.0, seconds), self._fire, self._future)
        try:
            await self._future
        finally:
            timer.cancel()

    def wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop has nobody left to wake
            self._loop.call_soon_threadsafe(self._fire, self._future)

    @staticmethod
    def _fire(future: asyncio.Future[None]) -> None:
        if not future.done():
            future.set_result(None)


_Waiter = _ThreadWaiter | _TaskWaiter


class _Core:
    """What a limiter and all its ``with_max_wait`` handles share."""

    def __init__(
        self,
        state: StateStore,
        tuning: Tuning,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        sleep: Callable[[float], None],
        async_sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.state, self.tuning = state, tuning
        self.clock, self.wall_clock, self.sleep, self.async_sleep = (
            clock,
            wall_clock,
            sleep,
            async_sleep,
        )
        self.lock = ForkSafeLock()
        # this process's waiting callers (a forked child has none), insertion-ordered
        self.waiters: ProcessLocal[dict[_Waiter, None]] = ProcessLocal(dict)
        self.handles: dict[float | None, AdaptiveRateLimiter] = {}
        self.version = 0  # plan changes seen by this process
        self._plans = {0: -1.0, 1: -1.0}  # the latest plan seen from each state
        self._origin = -1
        self.view: View | None = None
        self.view_at = 0.0  # the limiter clock when ``view`` was taken
        self.throttled_from: float | None = None  # requests/min before the current episode
        self.last_429 = -math.inf  # limiter clock
        self.last_decrease = -math.inf
        self.decrease_epoch = 0.0
        state.listen(self.notified)

    # -- what the state says ----------------------------------------------------------------
    def observe(self, view: View) -> int:
        """Note a view; wake the waiters if it shows a new plan (or another state answered).
        Returns the plan version a grant made with this view belongs to."""
        local_now = self.clock()
        with self.lock:
            seen = self._plans[view.origin]
            newer = view.plan > seen or view.origin != self._origin
            if newer:
                self._plans[view.origin] = view.plan
                self._origin = view.origin
                self.version += 1
                waiters = list(self.waiters.get())
            else:
                waiters = []
                if view.plan < seen - 1:  # the state was rebuilt (Redis restarted, flushed)
                    self._plans[view.origin] = view.plan
            if view.plan >= seen - 1:  # not an answer overtaken by a newer one
                self.view, self.view_at = view, local_now
            version = self.version
        for waiter in waiters:
            waiter.wake()
        return version

    def local(self, view: View, instant: float) -> float:
        """A state instant on the limiter clock."""
        return self.clock() + (instant - view.now)

    # -- granting ---------------------------------------------------------------------------
    def notified(self, plan: float) -> None:
        """Another process changed the shared state's plan (pushed by Redis): the waiters of
        this process ask again, as after a plan change seen in an answer."""
        with self.lock:
            seen = self._plans[SHARED]
            if seen - 1 <= plan <= seen:
                return  # seen already (or an older message)
            self._plans[SHARED] = plan  # newer, or the state was rebuilt
            self.version += 1
            waiters = list(self.waiters.get())
        for waiter in waiters:
            waiter.wake()

    def held(
        self, decision: Grant | Refusal, view: View, bound: float | None, watch: int | None
    ) -> _Held:
        """``watch``: the plan subscription's token, read before the decision was asked for."""
        version = self.observe(view)
        if isinstance(decision, Refusal):
            raise self.refused(decision, view, 0.0 if bound is None else bound)
        if decision.wait > 0 and view.origin == SHARED and watch is None:
            self.state.watch_token(start=True)  # paced: later waits need no confirmation
        return _Held(decision.ticket, view.origin, self.clock() + decision.wait, version, watch)

    def refused(self, refusal: Refusal, view: View, bound: float) -> Exception:
        from .advice import wait_refused

        if refusal.cause == "budget":
            cause = f"the window budget of {view.b_lim:.0f} requests is spent"
        elif refusal.cause == "day":
            cause = f"the daily quota of {view.d_lim:.0f} requests is spent"
        elif refusal.cause == "pace":
            cause = f"paced at {view.rate * 60:.0f} requests/min after 429s"
        else:
            cause = "paused after a 429 until its reset"
        return wait_refused(refusal.wait, bound, self.wall_clock(), cause)

    def must_confirm(self, held: _Held, waited: bool) -> bool:
        """Whether a grant whose slot came is confirmed before it is used (one more round
        trip): the one place that decides it (see the module docstring)."""
        if held.ticket.plan == policy.HOLD:
            return True  # held for a probe of the window: asks again, in any state
        if not waited or held.origin != SHARED:
            return False  # granted for now, or by this process's own state (seen here)
        if held.watch is not None and self.state.watch_token() == held.watch:
            return False  # subscribed to the plan all along: a change would have woken it
        with self.lock:
            view = self.view
        # the newest answer this process had: taken since the slot came, with the grant's plan,
        # it says what a confirmation would say (plans only grow; a rebuilt state restarts
        # them, as for ``policy.confirm``)
        return (
            view is None
            or view.origin != SHARED
            or view.plan != held.ticket.plan
            or view.now < held.ticket.slot
        )

    def register(self, waiter: _Waiter | None) -> None:
        if waiter is not None:
            with self.lock:
                self.waiters.get()[waiter] = None

    def leave(self, waiter: _Waiter | None, abandoned: _Held | None) -> None:
        if waiter is not None:
            with self.lock:
                self.waiters.get().pop(waiter, None)
        if abandoned is not None:  # cancelled or interrupted while waiting: give it back
            self.state.release(abandoned.key)

    def admitted(self, held: _Held) -> None:
        _LAST_ADMISSION.set((id(self), held))

    def take_admission(self) -> tuple[int, Ticket] | None:
        """This thread / task's last admission through this limiter (each is reported once)."""
        last = _LAST_ADMISSION.get()
        if last is None or last[0] != id(self):
            return None
        _LAST_ADMISSION.set(None)
        return last[1].key

    # -- feedback ---------------------------------------------------------------------------
    def after_success(self, view: View) -> None:
        self.observe(view)
        with self.lock:
            since = self.clock() - self.last_429
            was = self.throttled_from
            if was is None:
                return
            rate = view.rate * 60
            if view.b_lim > 0 or view.cool > view.now:
                return  # a window budget or a pause still limits
            if view.rate == 0:
                note = "OpenRouter rate limiting eased; no 429 for 60 s, no pacing any more"
            elif rate >= was:
                note = f"OpenRouter rate limiting eased; back to {rate:.0f} requests/min"
            elif since > policy.QUIET:
                # the old rate was above the limit (it overshot) and will not come back
                note = (
                    f"OpenRouter rate limiting eased; no 429 for 60 s, now {rate:.0f} requests/min"
                )
            else:
                return
            self.throttled_from = None
        logger.info(note)

    def after_limited(
        self, outcome: float, view: View, signal: Signal, before: View | None
    ) -> None:
        local_now = self.clock()
        with self.lock:
            new_episode = local_now - self.last_429 > policy.QUIET
            self.last_429 = local_now
            if before is not None and view.epoch > before.epoch:
                self.last_decrease, self.decrease_epoch = local_now, view.epoch
        self.observe(view)
        if outcome == policy.QUOTA:
            logger.debug(quota_note(signal.wait, self.tuning.max_pause))
            return
        if outcome != policy.CHANGED:
            return  # another answer of an event already acted on
        old = before.rate if before is not None else 0.0
        with self.lock:
            level = logging.DEBUG
            if new_episode or self.throttled_from is None:
                level = logging.WARNING
                old_rate = old * 60 if old > 0 else math.inf
                self.throttled_from = max(old_rate, self.throttled_from or 0.0)
        logger.log(level, self._throttle_note(view, old, before))

    def _throttle_note(self, view: View, old_rate: float, before: View | None) -> str:
        text = "OpenRouter/provider is throttling; "
        pause = view.cool - view.now
        if pause > 0:
            text += f"pausing {pause:.1f} s; "
        # a budget this 429 taught (a configured one, or one learnt before, is old news)
        new_budget = before is None or (before.b_lim, before.b_id) != (view.b_lim, view.b_id)
        if view.b_lim > 0 and new_budget:
            text += (
                f"budget {view.b_lim:.0f} requests per {view.b_end - view.b_start:.0f} s window; "
            )
        if old_rate > 0 and view.rate > 0:
            text += f"rate {old_rate * 60:.0f} -> {view.rate * 60:.0f} requests/min"
        elif old_rate != view.rate:
            text += f"rate {_per_minute(old_rate)} -> {_per_minute(view.rate)}"
        text = text.rstrip("; ")
        if pause > 0:
            until = datetime.fromtimestamp(self.wall_clock() + pause, tz=timezone.utc)
            text += f" (resuming at {until:%H:%M:%S} UTC)"
        return text

    def sent_before(self, sent_at: float) -> tuple[int, Ticket] | None:
        """A ``sent_at`` report: admitted before the last decrease is the same event."""
        if sent_at >= self.last_decrease or self.view is None:
            return None
        old = Ticket(sent_at, self.decrease_epoch - 1, 0.0, 0.0, NEVER, 0.0)
        return self.view.origin, old


def _per_minute(rate: float) -> str:
    return f"{rate * 60:.0f} requests/min" if rate > 0 else "unpaced"


def quota_note(wait: float, max_pause: float) -> str:
    return (
        f"OpenRouter asked to wait {wait:.0f} s (more than max_pause={max_pause:.0f} s): "
        "treated as a quota of one model; the key's other requests are not paused"
    )


class AdaptiveRateLimiter(BaseRateLimiter):
    """A ``BaseRateLimiter`` that is free until OpenRouter limits, then paces to the limit.

    Use it wherever LangChain takes a ``rate_limiter``. ``ChatOpenRouter`` shares one per API key
    (and base URL and scope) and reports each attempt's outcome (``record_success`` /
    ``record_rate_limited``); a caller that reports nothing gets plain pacing at the current rate.
    Threads and asyncio tasks may use one limiter at the same time.

    Args:
        requests_per_minute: a starting pace (then +1 request/s per completed success until the
            first 429). None (the default): nothing is paced until a 429 says so.
        min_requests_per_minute: the floor of multiplicative decreases.
        max_requests_per_minute: the ceiling of increases (None: no ceiling).
        decrease_factor: the rate is multiplied by this on each throttling event (0 < f < 1).
        increase_step: additive increase, a share of the rate that last failed, per
            ``successes_before_increase`` completed successes.
        successes_before_increase: completed successes per additive increase.
        max_burst: admissions allowed back to back after an idle spell, once paced.
        max_pause: a reset / retry-after further away than this (seconds), such as a daily
            free-tier quota, pauses nothing: it is a quota of one model, not the key's rate.
        reset_margin: seconds added to each reset / retry-after instant (clock skew).
        max_wait: the longest an ``acquire`` may wait (seconds); a longer wait raises
            ``RateLimitError`` at once, saying when the limit resets, and takes no slot. None:
            wait as long as it takes. ``with_max_wait`` gives the same limiter with another
            bound (``ChatOpenRouter`` uses its ``max_rate_limit_wait``); 0 never waits.
        window_budget: ``(limit, seconds)``: start with a budget of ``limit`` admissions per
            window (the ``:free`` models: ``(20, 60)``, OpenRouter's published limit).
        daily_limit: start with a cap of this many admissions per UTC day.
        redis_url: keep the state in Redis (``pip install 'langchain-openrouter-fenic[redis]'``)
            so that every process and host using the same ``redis_name`` shares the limits;
            while Redis fails, the limiter works in-process. Default: the environment variable
            ``LANGCHAIN_OPENROUTER_FENIC_REDIS_URL`` for ``ChatOpenRouter``'s shared limiters.
        redis_name, redis_scope: which shared state (one Redis hash per name and scope).
        redis_notifications: subscribe to the shared state's plan changes (Redis pub/sub, one
            connection and thread per process and state, started once pacing begins), so a
            caller that waited for its slot uses it without asking Redis again; False: each
            waited-for slot is confirmed by a second round trip.
        clock, wall_clock, sleep, async_sleep: time, injectable for tests (``clock`` monotonic
            seconds, ``wall_clock`` epoch seconds). With the real ``time.sleep`` /
            ``asyncio.sleep``, waits are cut short when a 429 changes the plan.
    """

    def __init__(
        self,
        requests_per_minute: float | None = None,
        *,
        min_requests_per_minute: float = 6.0,
        max_requests_per_minute: float | None = None,
        decrease_factor: float = 0.75,
        increase_step: float = 0.01,
        successes_before_increase: int = 10,
        max_burst: int = 1,
        max_pause: float = 60.0,
        reset_margin: float = 0.05,
        max_wait: float | None = None,
        window_budget: tuple[int, float] | None = None,
        daily_limit: int | None = None,
        redis_url: str | None = None,
        redis_name: str = "default",
        redis_scope: str = "default",
        redis_notifications: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        tuning = _tuning(
            requests_per_minute,
            min_requests_per_minute,
            max_requests_per_minute,
            decrease_factor,
            increase_step,
            successes_before_increase,
            max_burst,
            max_pause,
            reset_margin,
            window_budget,
            daily_limit,
        )
        self._max_wait = _checked_max_wait(max_wait)
        local = LocalState(tuning, clock, wall_clock)
        state: StateStore = local
        if redis_url:
            state = _redis_state(
                redis_url, redis_name, redis_scope, tuning, local, redis_notifications
            )
        self._core = _Core(state, tuning, clock, wall_clock, sleep, async_sleep)
        self._core.handles[self._max_wait] = self
        self._registry_key: tuple[Any, ...] | None = None

    # -- handles --------------------------------------------------------------------------
    def with_max_wait(self, seconds: float | None) -> AdaptiveRateLimiter:
        """This limiter (the same state, shared) with another ``max_wait``.

        The handle of one bound is made once and kept: asking again returns the same object.
        """
        bound = _checked_max_wait(seconds)
        core = self._core
        with core.lock:
            handle = core.handles.get(bound)
            if handle is None:
                handle = object.__new__(AdaptiveRateLimiter)
                handle.__dict__.update(self.__dict__)
                handle._max_wait = bound
                core.handles[bound] = handle
            return handle

    @property
    def max_wait(self) -> float | None:
        """The longest an ``acquire`` of this handle waits (None: no bound)."""
        return self._max_wait

    def __reduce__(self) -> tuple[Any, ...]:
        # configuration, never state: a shared limiter is looked up again where it is loaded
        if self._registry_key is not None:
            from .shared import shared_again

            return (shared_again, (*self._registry_key, self._max_wait))
        return (_rebuilt, (self._config, self._max_wait))

    def __copy__(self) -> AdaptiveRateLimiter:
        return self  # one limiter is one set of limits: a copy shares them

    def __deepcopy__(self, memo: dict[int, Any]) -> AdaptiveRateLimiter:
        return self

    # -- read-only introspection ----------------------------------------------------------
    def _peek(self) -> View:
        view = self._core.state.peek()
        self._core.observe(view)
        return view

    @property
    def requests_per_minute(self) -> float:
        """The current pace, requests per minute (``math.inf`` while nothing is paced)."""
        rate = self._peek().rate
        return rate * 60 if rate > 0 else math.inf

    @property
    def cooldown_until(self) -> float | None:
        """The ``clock`` instant before which nothing is admitted, or None when not paused."""
        view = self._peek()
        return self._core.local(view, view.cool) if view.cool > view.now else None

    def cooldown_remaining(self) -> float:
        """Seconds until admissions resume after a reset / retry-after (0.0 when not paused)."""
        view = self._peek()
        return max(0.0, view.cool - view.now)

    @property
    def window_budget(self) -> WindowBudget | None:
        """The window budget in force (learnt from ``X-RateLimit-*`` or configured)."""
        view = self._peek()
        if view.b_lim <= 0:
            return None
        local = self._core.local
        return WindowBudget(int(view.b_lim), local(view, view.b_start), local(view, view.b_end))

    @property
    def throttled(self) -> bool:
        """True during a throttling episode: from its first 429 until the rate is back where it
        was, or a minute passed without a 429."""
        return self._core.throttled_from is not None

    @property
    def shared(self) -> bool:
        """True while the state is shared through Redis (False: in-process, or Redis failing)."""
        return getattr(self._core.state, "shared", False)

    def now(self) -> float:
        """The limiter's clock, the unit of ``record_rate_limited(sent_at=...)``."""
        return self._core.clock()

    # -- BaseRateLimiter ------------------------------------------------------------------
    def acquire(self, *, blocking: bool = True) -> bool:
        """Wait for this request's slot; with ``blocking=False``, take it only if it is due."""
        if waits.are_skipped():  # replaying recorded HTTP: no pacing (``waits``)
            return True
        core = self._core
        if not blocking:
            decision, view = core.state.acquire(0.0, None)
            return self._granted_now(decision, view)
        waiter = _ThreadWaiter() if core.sleep is time.sleep else None
        held: _Held | None = None
        confirm = admitted = False
        try:
            while True:
                if waiter is not None:
                    waiter.arm()  # armed before looking, so a wake-up in between is not lost
                watch = core.state.watch_token()
                decision, view = core.state.acquire(self._bound, _key(held), confirm=confirm)
                held = None  # given back (or confirmed) by that call
                held = core.held(decision, view, self._max_wait, watch)
                core.register(waiter)
                waited = False
                while (step := _next_step(core, held, waited)) > 0:
                    (waiter.wait if waiter is not None else core.sleep)(step)
                    waited = True
                    if waiter is not None:
                        waiter.arm()
                if step == _DUE:
                    admitted = True
                    core.admitted(held)
                    return True
                confirm = step == _CONFIRM
        finally:
            core.leave(waiter, None if admitted else held)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        """Like ``acquire``, but waits on the event loop (never blocking it)."""
        if waits.are_skipped():
            return True
        core = self._core
        if not blocking:
            decision, view = await core.state.aacquire(0.0, None)
            return self._granted_now(decision, view)
        waiter = _TaskWaiter() if core.async_sleep is asyncio.sleep else None
        held: _Held | None = None
        confirm = admitted = False
        try:
            while True:
                if waiter is not None:
                    waiter.arm()
                watch = core.state.watch_token()
                decision, view = await core.state.aacquire(self._bound, _key(held), confirm=confirm)
                held = None
                held = core.held(decision, view, self._max_wait, watch)
                core.register(waiter)
                waited = False
                while (step := _next_step(core, held, waited)) > 0:
                    if waiter is not None:
                        await waiter.wait(step)
                        waiter.arm()
                    else:
                        await core.async_sleep(step)
                    waited = True
                if step == _DUE:
                    admitted = True
                    core.admitted(held)
                    return True
                confirm = step == _CONFIRM
        finally:
            core.leave(waiter, None if admitted else held)

    @property
    def _bound(self) -> float:
        return -1.0 if self._max_wait is None else self._max_wait

    def _granted_now(self, decision: Grant | Refusal, view: View) -> bool:
        version = self._core.observe(view)
        if isinstance(decision, Refusal):
            return False
        self._core.admitted(_Held(decision.ticket, view.origin, self._core.clock(), version))
        return True

    # -- feedback -------------------------------------------------------------------------
    def record_success(self) -> None:
        """Report that a request admitted by this limiter completed successfully."""
        core = self._core
        core.state.report_success(core.take_admission(), core.after_success)

    def record_rate_limited(
        self, signal: RateLimitSignal | None = None, *, sent_at: float | None = None
    ) -> None:
        """Report a 429 and what it said (see ``parse_rate_limit_signal``).

        ``sent_at`` is when that request was admitted (``now()``). By default it is the last
        admission of the calling thread / task, so that 429s of requests admitted before the
        last decrease count as the same throttling event and do not decrease the rate again.
        """
        core = self._core
        held = core.take_admission()
        if sent_at is not None:
            held = core.sent_before(sent_at)
        flat = _flat_signal(signal or RateLimitSignal())
        before = core.view

        def then(outcome: float, view: View) -> None:
            core.after_limited(outcome, view, flat, before)

        core.state.report_limited(flat, held, then)


def bounded_by(rate_limiter: BaseRateLimiter, max_wait: float) -> BaseRateLimiter:
    """``rate_limiter`` with ``max_wait`` as its bound, when it is an ``AdaptiveRateLimiter``.

    Any other limiter is returned as it is: it gives no way to know its wait in advance.
    """
    if isinstance(rate_limiter, AdaptiveRateLimiter):
        return rate_limiter.with_max_wait(max_wait)
    return rate_limiter


# what a waiting caller does next (``_next_step``; a positive number: sleep that long)
_DUE, _CONFIRM, _ASK_AGAIN = 0.0, -1.0, -2.0


def _next_step(core: _Core, held: _Held, waited: bool) -> float:
    if held.version != core.version:
        return _ASK_AGAIN  # a new plan in this process voided the grant
    delay = held.due - core.clock()
    if delay > 0:
        return delay
    if core.must_confirm(held, waited):
        return _CONFIRM  # held for a probe, or perhaps voided by another process meanwhile
    return _DUE


def _key(held: _Held | None) -> tuple[int, Ticket] | None:
    return None if held is None else held.key


def _flat_signal(signal: RateLimitSignal) -> Signal:
    wait = signal.wait_seconds()
    return Signal(
        limit=float(signal.limit) if signal.limit is not None else -1.0,
        reset_in=signal.reset_in if signal.reset_in is not None else -1.0,
        wait=wait if wait is not None else -1.0,
        spent=1.0 if signal.window_spent else 0.0,
    )


def _checked_max_wait(seconds: float | None) -> float | None:
    if seconds is not None and not seconds >= 0:
        raise ValueError(f"max_wait={seconds} must be >= 0 seconds, or None for no bound.")
    return None if seconds is None else float(seconds)


def _tuning(
    requests_per_minute: float | None,
    min_requests_per_minute: float,
    max_requests_per_minute: float | None,
    decrease_factor: float,
    increase_step: float,
    successes_before_increase: int,
    max_burst: int,
    max_pause: float,
    reset_margin: float,
    window_budget: tuple[int, float] | None,
    daily_limit: int | None,
) -> Tuning:
    for name, value in {
        "min_requests_per_minute": min_requests_per_minute,
        "increase_step": increase_step,
        "max_pause": max_pause,
    }.items():
        if not value > 0:
            raise ValueError(f"{name}={value} must be > 0.")
    ceiling = max_requests_per_minute if max_requests_per_minute is not None else math.inf
    if not min_requests_per_minute <= ceiling:
        raise ValueError(
            f"max_requests_per_minute={max_requests_per_minute} must be at least "
            f"min_requests_per_minute={min_requests_per_minute}."
        )
    if requests_per_minute is not None and not (
        min_requests_per_minute <= requests_per_minute <= ceiling
    ):
        raise ValueError(
            f"requests_per_minute={requests_per_minute} must lie between "
            f"min_requests_per_minute={min_requests_per_minute} and "
            f"max_requests_per_minute={max_requests_per_minute}; change one of them "
            "(or leave it None: no pacing until a 429)."
        )
    if not 0 < decrease_factor < 1:
        raise ValueError(f"decrease_factor={decrease_factor} must be in (0, 1), e.g. 0.75.")
    if successes_before_increase < 1 or max_burst < 1 or reset_margin < 0:
        raise ValueError(
            f"successes_before_increase={successes_before_increase} and "
            f"max_burst={max_burst} must be >= 1, reset_margin={reset_margin} >= 0."
        )
    limit, length = window_budget if window_budget is not None else (0, 0.0)
    if window_budget is not None and not (limit >= 1 and length > 0):
        raise ValueError(
            f"window_budget={window_budget} must be (limit >= 1, seconds > 0), e.g. (20, 60)."
        )
    if daily_limit is not None and daily_limit < 1:
        raise ValueError(f"daily_limit={daily_limit} must be >= 1 (or None: no daily cap).")
    return Tuning(
        floor=min_requests_per_minute / 60,
        ceiling=0.0 if math.isinf(ceiling) else ceiling / 60,
        decrease=decrease_factor,
        step=increase_step,
        needed=float(successes_before_increase),
        burst=float(max_burst),
        max_pause=max_pause,
        margin=reset_margin,
        start_rate=requests_per_minute / 60 if requests_per_minute is not None else 0.0,
        window_limit=float(limit),
        window_length=float(length),
        day_limit=float(daily_limit or 0),
    )


def _redis_state(
    url: str, name: str, scope: str, tuning: Tuning, fallback: LocalState, notifications: bool
) -> StateStore:
    if importlib.util.find_spec("redis") is None:
        raise ImportError(
            "redis_url needs the Redis client: pip install 'langchain-openrouter-fenic[redis]' "
            "(or leave redis_url / LANGCHAIN_OPENROUTER_FENIC_REDIS_URL unset for an in-process "
            "limiter)."
        )
    if not name or not scope:
        raise ValueError(f"redis_name={name!r} and redis_scope={scope!r} must be non-empty.")
    from .redis_state import RedisState, redis_key

    return RedisState(url, redis_key(name, scope), tuning, fallback, notifications=notifications)


def _rebuilt(config: dict[str, Any], max_wait: float | None) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(**config).with_max_wait(max_wait)
