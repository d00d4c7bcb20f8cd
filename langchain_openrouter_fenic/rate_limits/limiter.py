"""``AdaptiveRateLimiter``: a LangChain rate limiter that learns OpenRouter's limits from its 429s.

All decisions live in ``_rate_schedule.Schedule``, a pure state machine over "now" (a fake clock
drives it in tests); ``AdaptiveRateLimiter`` adds the lock and the waiting.

- **Pacing.** Callers reserve the next free slot (GCRA: slots ``1/rate`` apart, bursts of
  ``max_burst``) and sleep exactly until it: no polling. A new plan (a 429, a pause, a
  higher rate) voids outstanding reservations and wakes their holders, who reserve again.
- **Slow start.** Until the first 429 each completed success adds 1 request/s (the rate roughly
  doubles every second), but only while the limiter is what holds callers back.
- **429 without hints.** One multiplicative decrease per throttling event (x ``decrease_factor``,
  floored): 429s of requests admitted before the decrease belong to the same event. The rate the
  failed request was paced at is remembered; after a few successes the rate returns to 90 % of it
  and then probes upward additively (``increase_step`` of it per ``successes_before_increase``
  completed successes), with growing steps once it is past the rate that failed.
- **429 with a reset / retry-after.** Nothing is admitted before that instant. ``Limit`` +
  ``Reset`` is a window budget: at most Limit admissions in the window that starts at the reset,
  spread evenly over it. Its length is measured from successive resets; until two are seen it
  is estimated from our own successes (the closing window held the last Limit of them), or a
  minute if we have none. The budget expires with its window. A pause longer than ``max_pause``
  (a daily free-tier quota) is a quota of one model, not a rate: the key's other requests go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

from langchain_core.rate_limiters import BaseRateLimiter

from .._process_local import ForkSafeLock, ProcessLocal, ProcessRegistry
from . import waits
from .policy import Schedule, Ticket, Tuning, WindowBudget
from .signals import RateLimitSignal

__all__ = [
    "AdaptiveRateLimiter",
    "WindowBudget",
    "limiter_scope",
    "shared_rate_limiter",
]

logger = logging.getLogger(__name__)

# the last admission of this thread / asyncio task: (id of the limiter's schedule, its ticket)
_LAST_ADMISSION: contextvars.ContextVar[tuple[int, Ticket] | None] = contextvars.ContextVar(
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


class AdaptiveRateLimiter(BaseRateLimiter):
    """A ``BaseRateLimiter`` that slows down on OpenRouter's 429s and speeds up on completions.

    Use it wherever LangChain takes a ``rate_limiter``. ``ChatOpenRouter`` shares one per API key
    and reports each attempt's outcome (``record_success`` / ``record_rate_limited``); a caller
    that reports nothing gets plain pacing at the current rate. Threads and asyncio tasks may
    use one limiter at the same time: a lock guards the state and is never held while waiting.

    Args:
        requests_per_minute: the starting rate (raised by slow start until the first 429).
        min_requests_per_minute: the floor of multiplicative decreases.
        max_requests_per_minute: the ceiling of increases.
        decrease_factor: the rate is multiplied by this on each throttling event (0 < f < 1).
        increase_step: additive increase, as a share of the rate that last failed (or of a
            window budget's rate), per ``successes_before_increase`` completed successes.
        successes_before_increase: completed successes per additive increase.
        max_burst: admissions allowed back to back after an idle spell.
        max_pause: a reset / retry-after further away than this (seconds), such as a daily
            free-tier quota, pauses nothing: it is a quota of one model, not the key's rate.
        reset_margin: seconds added to each reset / retry-after instant (clock skew).
        max_wait: the longest an ``acquire`` may wait (seconds); a longer wait raises
            ``RateLimitError`` at once, saying when the limit resets, and takes no slot. None:
            wait as long as it takes. ``with_max_wait`` gives the same limiter with another
            bound (``ChatOpenRouter`` uses its ``max_rate_limit_wait``); 0 never waits.
        clock, wall_clock, sleep, async_sleep: time, injectable for tests (``clock`` monotonic
            seconds, ``wall_clock`` epoch seconds). With the real ``time.sleep`` /
            ``asyncio.sleep``, waits are cut short when a higher rate frees earlier slots.
    """

    def __init__(
        self,
        requests_per_minute: float = 600.0,
        *,
        min_requests_per_minute: float = 6.0,
        max_requests_per_minute: float = 60_000.0,
        decrease_factor: float = 0.75,
        increase_step: float = 0.01,
        successes_before_increase: int = 10,
        max_burst: int = 1,
        max_pause: float = 60.0,
        reset_margin: float = 0.05,
        max_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        for name, value in {
            "min_requests_per_minute": min_requests_per_minute,
            "increase_step": increase_step,
            "max_pause": max_pause,
        }.items():
            if not value > 0:
                raise ValueError(f"{name}={value} must be > 0.")
        if not min_requests_per_minute <= requests_per_minute <= max_requests_per_minute:
            raise ValueError(
                f"requests_per_minute={requests_per_minute} must lie between "
                f"min_requests_per_minute={min_requests_per_minute} and "
                f"max_requests_per_minute={max_requests_per_minute}; change one of them."
            )
        if not 0 < decrease_factor < 1:
            raise ValueError(f"decrease_factor={decrease_factor} must be in (0, 1), e.g. 0.75.")
        if successes_before_increase < 1 or max_burst < 1 or reset_margin < 0:
            raise ValueError(
                f"successes_before_increase={successes_before_increase} and "
                f"max_burst={max_burst} must be >= 1, reset_margin={reset_margin} >= 0."
            )
        self._max_wait = _checked_max_wait(max_wait)
        self._clock, self._wall_clock = clock, wall_clock
        self._sleep, self._async_sleep = sleep, async_sleep
        # new in a forked child: a parent thread may hold the lock, and its waiters are not there
        self._lock = ForkSafeLock()
        self._process_waiters: ProcessLocal[dict[_Waiter, None]] = ProcessLocal(dict)
        tuning = Tuning(
            floor=min_requests_per_minute / 60,
            ceiling=max_requests_per_minute / 60,
            decrease_factor=decrease_factor,
            increase_step=increase_step,
            successes_before_increase=successes_before_increase,
            max_burst=max_burst,
            max_pause=max_pause,
            reset_margin=reset_margin,
        )
        self._schedule = Schedule(tuning, rate=requests_per_minute / 60, now=clock())
        self._handles: dict[float | None, AdaptiveRateLimiter] = {self._max_wait: self}

    def with_max_wait(self, seconds: float | None) -> AdaptiveRateLimiter:
        """This limiter (the same state, shared) with another ``max_wait``.

        The handle of one bound is made once and kept: asking again returns the same object.
        """
        bound = _checked_max_wait(seconds)
        with self._lock:
            handle = self._handles.get(bound)
            if handle is None:
                handle = copy.copy(self)  # every attribute is shared, the bound aside
                handle._max_wait = bound
                self._handles[bound] = handle
            return handle

    @property
    def max_wait(self) -> float | None:
        """The longest an ``acquire`` of this handle waits (None: no bound)."""
        return self._max_wait

    @property
    def _waiters(self) -> dict[_Waiter, None]:
        """This process's waiting callers, insertion-ordered: wake-ups in queue order."""
        return self._process_waiters.get()

    # -- read-only introspection ----------------------------------------------------------
    @property
    def requests_per_minute(self) -> float:
        """The current admission rate, requests per minute."""
        with self._lock:
            return self._schedule.rate * 60

    @property
    def cooldown_until(self) -> float | None:
        """The ``clock`` instant before which nothing is admitted, or None when not paused."""
        with self._lock:
            until = self._schedule.cooldown_until
            return until if until > self._clock() else None

    def cooldown_remaining(self) -> float:
        """Seconds until admissions resume after a reset / retry-after (0.0 when not paused)."""
        with self._lock:
            return max(0.0, self._schedule.cooldown_until - self._clock())

    @property
    def window_budget(self) -> WindowBudget | None:
        """The window budget learnt from ``X-RateLimit-Limit`` / ``-Reset``, while it lasts."""
        with self._lock:
            self._schedule.expire(self._clock())
            return self._schedule.budget

    @property
    def throttled(self) -> bool:
        """True during a throttling episode: from its first 429 until the rate is back where it
        was, or a minute passed without a 429 (then the old rate was above the limit)."""
        with self._lock:
            return self._schedule.throttled_from is not None

    def now(self) -> float:
        """The limiter's clock, the unit of ``record_rate_limited(sent_at=...)``."""
        return self._clock()

    # -- BaseRateLimiter ------------------------------------------------------------------
    def acquire(self, *, blocking: bool = True) -> bool:
        """Wait for this request's slot; with ``blocking=False``, take it only if it is due."""
        if waits.are_skipped():  # replaying recorded HTTP: no pacing (``waits``)
            return True
        if not blocking:
            return self._try_now()
        waiter = _ThreadWaiter() if self._sleep is time.sleep else None
        ticket, admitted = self._reserve(waiter), False
        try:
            while True:
                if waiter is not None:
                    waiter.arm()  # armed before looking, so a wake-up in between is not lost
                admitted, ticket = self._settle(ticket)
                if admitted:
                    return True
                delay = ticket.at - self._clock()
                if delay > 0:
                    (waiter.wait if waiter is not None else self._sleep)(delay)
        finally:
            self._leave(ticket, waiter, admitted)

    async def aacquire(self, *, blocking: bool = True) -> bool:
        """Like ``acquire``, but waits on the event loop (never blocking it)."""
        if waits.are_skipped():
            return True
        if not blocking:
            return self._try_now()
        waiter = _TaskWaiter() if self._async_sleep is asyncio.sleep else None
        ticket, admitted = self._reserve(waiter), False
        try:
            while True:
                if waiter is not None:
                    waiter.arm()
                admitted, ticket = self._settle(ticket)
                if admitted:
                    return True
                delay = ticket.at - self._clock()
                if delay > 0:
                    await (waiter.wait(delay) if waiter is not None else self._async_sleep(delay))
        finally:
            self._leave(ticket, waiter, admitted)

    def _try_now(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._schedule.next_slot(now) > now:
                self._schedule.last_queued_at = now  # demand exceeds the rate
                return False
            ticket = self._schedule.reserve(now)
            self._schedule.admit(ticket, now)
        _LAST_ADMISSION.set((id(self._schedule), ticket))
        return True

    def _reserve(self, waiter: _Waiter | None) -> Ticket:
        with self._lock:
            ticket = self._bounded_reserve(self._clock())
            if waiter is not None:
                self._waiters[waiter] = None
            return ticket

    def _settle(self, ticket: Ticket) -> tuple[bool, Ticket]:
        """Admit the ticket if its slot has come; replace it if a new plan voided it."""
        with self._lock:
            now = self._clock()
            verdict = self._schedule.admit(ticket, now)
            if verdict is None:
                return False, self._bounded_reserve(now)
        if verdict:
            _LAST_ADMISSION.set((id(self._schedule), ticket))
        return verdict, ticket

    def _bounded_reserve(self, now: float) -> Ticket:
        """Reserve the next slot, or raise if it is further away than ``max_wait`` (lock held).

        A refused caller takes nothing: the slot stays free for callers who may wait.
        """
        if self._max_wait is not None:
            wait = self._schedule.next_slot(now) - now
            if wait > self._max_wait:
                raise _wait_refused(wait, self._max_wait, self._wall_clock(), self._schedule, now)
        return self._schedule.reserve(now)

    def _leave(self, ticket: Ticket, waiter: _Waiter | None, admitted: bool) -> None:
        with self._lock:
            if waiter is not None:
                self._waiters.pop(waiter, None)
            if not admitted:  # cancelled or interrupted while waiting: give the budget back
                self._schedule.cancel(ticket)

    # -- feedback -------------------------------------------------------------------------
    def record_success(self) -> None:
        """Report that a request admitted by this limiter completed successfully."""
        sent = self._take_last_admission()
        with self._lock:
            epoch = self._schedule.epoch
            note = self._schedule.on_success(self._clock(), sent)
        self._wake_if_replanned(epoch)
        if note:
            logger.info(note)

    def record_rate_limited(
        self, signal: RateLimitSignal | None = None, *, sent_at: float | None = None
    ) -> None:
        """Report a 429 and what it said (see ``parse_rate_limit_signal``).

        ``sent_at`` is when that request was admitted (``now()``). By default it is the last
        admission of the calling thread / task, so that 429s of requests admitted before the
        last decrease count as the same throttling event and do not decrease the rate again.
        """
        sent = self._take_last_admission()
        if sent_at is not None:
            sent = Ticket(sent_at, -1, False, None)
        with self._lock:
            epoch = self._schedule.epoch
            notes = self._schedule.on_rate_limited(self._clock(), signal or RateLimitSignal(), sent)
        self._wake_if_replanned(epoch)
        for level, text in notes:
            logger.log(level, self._with_wall_time(text))

    def _take_last_admission(self) -> Ticket | None:
        """This thread / task's last admission through this limiter (each is reported once)."""
        last = _LAST_ADMISSION.get()
        if last is None or last[0] != id(self._schedule):
            return None
        _LAST_ADMISSION.set(None)
        return last[1]

    def _wake_if_replanned(self, epoch_before: int) -> None:
        with self._lock:
            waiters = list(self._waiters) if self._schedule.epoch != epoch_before else []
        for waiter in waiters:
            waiter.wake()

    def _with_wall_time(self, text: str) -> str:
        pause = self.cooldown_remaining()
        if pause <= 0:
            return text
        until = datetime.fromtimestamp(self._wall_clock() + pause, tz=timezone.utc)
        return f"{text} (resuming at {until:%H:%M:%S} UTC)"


_FREE_SCOPE = "free"
_DEFAULT_SCOPE = "default"


def limiter_scope(model_id: str) -> str:
    """The shared limiter a model's requests go through: ``"free"`` for ``:free`` ids.

    OpenRouter counts ``:free`` models against their own budget (20 requests per minute, a
    daily cap), apart from the key's paid traffic; a separate limiter keeps that small budget
    from slowing the key's paid models.
    """
    return _FREE_SCOPE if model_id.strip().endswith(":free") else _DEFAULT_SCOPE


# empty again in a forked child, like every process-wide registry (``_process_local``)
_SHARED: ProcessRegistry[tuple[str, str, str], AdaptiveRateLimiter] = ProcessRegistry(
    "rate limiters"
)


def shared_rate_limiter(
    api_key: str | None, base_url: str, *, scope: str = _DEFAULT_SCOPE
) -> AdaptiveRateLimiter:
    """The process-wide limiter of one API key at one base URL and scope (created on first use).

    Every ``ChatOpenRouter`` of a key shares OpenRouter's limits, so they share one limiter;
    ``scope`` separates budgets OpenRouter counts apart (``limiter_scope(model_id)``: the
    ``:free`` models). Only a SHA-256 digest of the key is kept.
    """
    if not scope:
        raise ValueError(f"scope={scope!r} must be a non-empty name, e.g. limiter_scope(model_id).")
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()
    return _SHARED.get_or_create((digest, base_url.rstrip("/"), scope), AdaptiveRateLimiter)


def _checked_max_wait(seconds: float | None) -> float | None:
    if seconds is not None and not seconds >= 0:
        raise ValueError(f"max_wait={seconds} must be >= 0 seconds, or None for no bound.")
    return None if seconds is None else float(seconds)


def _wait_refused(
    wait: float, max_wait: float, wall_now: float, schedule: Schedule, now: float
) -> Exception:
    from .advice import wait_refused

    if schedule.cooldown_until > now:
        cause = "paused after a 429 until its reset"
    elif schedule.budget is not None and schedule.budget_used >= schedule.budget.limit:
        cause = f"the window budget of {schedule.budget.limit} requests is spent"
    else:
        cause = f"paced at {schedule.rate * 60:.0f} requests/min after 429s"
    return wait_refused(wait, max_wait, wall_now, cause)


def bounded_by(rate_limiter: BaseRateLimiter, max_wait: float) -> BaseRateLimiter:
    """``rate_limiter`` with ``max_wait`` as its bound, when it is an ``AdaptiveRateLimiter``.

    Any other limiter is returned as it is: it gives no way to know its wait in advance.
    """
    if isinstance(rate_limiter, AdaptiveRateLimiter):
        return rate_limiter.with_max_wait(max_wait)
    return rate_limiter
