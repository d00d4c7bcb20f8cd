"""``AdaptiveRateLimiter``: a LangChain rate limiter that learns OpenRouter's limits from its 429s.

All decisions live in ``_Schedule``, a pure state machine over "now" (a fake clock drives it in
tests); ``AdaptiveRateLimiter`` adds the lock and the waiting.

- **Pacing.** Callers reserve the next free slot (GCRA: slots ``1/rate`` apart, bursts of
  ``max_burst``) and sleep exactly until it: no polling. A new plan (a 429, a pause, a clearly
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
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from langchain_core.rate_limiters import BaseRateLimiter

from ._rate_signals import RateLimitSignal

__all__ = ["AdaptiveRateLimiter", "WindowBudget", "shared_rate_limiter"]

logger = logging.getLogger(__name__)

_DEFAULT_WINDOW = 60.0  # window length assumed when nothing better is known
_SHORTEST_WINDOW = 1.0  # resets closer than this are the same window (or clock noise)
_QUIET_ENDS_EPISODE = 60.0  # a 429 after this long without any starts a new throttling episode
_RECOVERY_SHARE = 0.9  # after a decrease, the rate returns to this share of the rate that failed
_SLOW_START_GAIN = 1.0  # requests/s added per completed success until the first 429
_REPLAN_GROWTH = 1.1  # an increase this large re-times the waiting callers at once
_SUCCESS_HISTORY = 2048  # completion times kept to estimate a window's length


@dataclass(frozen=True, slots=True)
class WindowBudget:
    """At most ``limit`` admissions in ``[start, end)`` (limiter clock seconds)."""

    limit: int
    start: float
    end: float

    @property
    def rate(self) -> float:
        """The budget spread over its window, requests per second."""
        return self.limit / (self.end - self.start)


@dataclass(frozen=True, slots=True)
class _Ticket:
    at: float  # the slot: admitted at this instant (limiter clock)
    epoch: int  # the plan it belongs to; a new plan voids it
    in_budget: bool  # counted against the window budget
    rate: float | None  # the rate it was paced at (None: unknown)


@dataclass(frozen=True, slots=True)
class _Tuning:
    """The constructor's settings, in requests per second."""

    floor: float
    ceiling: float
    decrease_factor: float
    increase_step: float
    successes_before_increase: int
    max_burst: int
    max_pause: float
    reset_margin: float


class _Schedule:
    """The limiter's decisions as a pure function of its state and ``now`` (no lock, no sleep)."""

    def __init__(self, tuning: _Tuning, *, rate: float, now: float) -> None:
        self.tuning, self.rate = tuning, rate
        self.epoch, self.planned_rate = 0, rate
        self.tat = now  # GCRA "theoretical arrival time" of the next slot
        self.cooldown_until = now
        self.budget: WindowBudget | None = None
        self.budget_used = 0  # admissions and live reservations counted in the budget
        self.budget_pending = 0  # of which live reservations of this epoch
        self.failed_rate: float | None = None  # None until the first 429: slow start
        self.steps_beyond = 0  # increases made above failed_rate
        self.last_decrease_at = self.last_429_at = self.last_queued_at = -math.inf
        self.last_admitted_at = -math.inf
        self.last_reset_at: float | None = None
        self.window_length: float | None = None  # measured from successive resets
        self.streak = 0  # completed successes since the last increase or 429
        self.successes: deque[float] = deque(maxlen=_SUCCESS_HISTORY)
        self.throttled_from: float | None = None  # the rate before the current episode

    # -- admission ------------------------------------------------------------------------
    def next_slot(self, now: float) -> float:
        """The earliest instant >= now at which a request may be admitted."""
        self.expire(now)
        tolerance = (self.tuning.max_burst - 1) / self.rate
        slot = max(now, self.cooldown_until, self.tat - tolerance)
        if self.budget is not None and slot < self.budget.end:
            slot = max(slot, self.budget.start)
            if self.budget_used >= self.budget.limit:
                slot = self.budget.end  # this window is spent; the budget ends with it
        return slot

    def reserve(self, now: float) -> _Ticket:
        """Take the next slot (possibly in the future) for one caller."""
        slot = self.next_slot(now)
        self.tat = max(self.tat, slot) + 1 / self.rate
        in_budget = self.budget is not None and slot < self.budget.end
        self.budget_used += in_budget
        self.budget_pending += in_budget
        if slot > now:
            self.last_queued_at = now
        return _Ticket(slot, self.epoch, in_budget, self.rate)

    def admit(self, ticket: _Ticket, now: float) -> bool | None:
        """True: admitted. False: not due yet. None: voided by a new plan (reserve again)."""
        if ticket.epoch != self.epoch:
            return None
        if ticket.at > now:
            return False
        self.budget_pending -= ticket.in_budget
        self.last_admitted_at = max(self.last_admitted_at, ticket.at)
        return True

    def cancel(self, ticket: _Ticket) -> None:
        """Give back a reservation whose holder stopped waiting (its slot stays spent)."""
        if ticket.epoch == self.epoch and ticket.in_budget:
            self.budget_pending -= 1
            self.budget_used -= 1

    def replan(self, now: float) -> None:
        """Void every outstanding reservation: their holders reserve again under the new plan."""
        self.epoch += 1
        self.planned_rate = self.rate
        self.budget_used -= self.budget_pending
        self.budget_pending = 0
        self.tat = max(now, self.last_admitted_at + 1 / self.rate)

    def expire(self, now: float) -> None:
        if self.budget is not None and now >= self.budget.end:
            self.budget = None  # hints expire with their window
            self.budget_used = self.budget_pending = 0

    # -- successes ------------------------------------------------------------------------
    def on_success(self, now: float, sent: _Ticket | None) -> str | None:
        """A request completed. Returns a log line when the rate is back to its old level."""
        self.expire(now)
        self.successes.append(now)
        slow_start = self.failed_rate is None
        # a success proves the rate it was paced at (slow start: one doubling ago is enough)
        proven = self.rate / 2 if slow_start else self.rate
        if sent is not None and sent.rate is not None and sent.rate < proven:
            return None
        self.streak += 1
        if now < self.cooldown_until or self.streak < self._successes_needed():
            return None
        self.streak = 0
        if now - self.last_queued_at > max(1.0, 2 / self.rate):
            return None  # the callers, not the limiter, set the pace: a higher rate is unproven
        self.rate = min(self._ceiling(), self._increased_rate())
        if self.rate >= self.planned_rate * _REPLAN_GROWTH:
            self.replan(now)  # waiting callers move to the new, earlier slots
        if self.throttled_from is not None and self.rate >= self.throttled_from:
            self.throttled_from = None
            return f"OpenRouter rate limiting eased; back to {self.rate * 60:.0f} requests/min"
        return None

    def _successes_needed(self) -> int:
        if self.failed_rate is None:
            return 1
        if self.rate < _RECOVERY_SHARE * self.failed_rate:
            return max(1, self.tuning.successes_before_increase // 2)  # the dip after a decrease
        return self.tuning.successes_before_increase

    def _increased_rate(self) -> float:
        if self.failed_rate is None:
            return self.rate + _SLOW_START_GAIN
        target = _RECOVERY_SHARE * self.failed_rate
        if self.rate < target:  # the decrease was a precaution: return near the limit at once
            return target
        # small steps up to the rate that failed; past it the limit has moved, so each step is
        # one step larger than the last (an outdated limit is left behind in reasonable time)
        self.steps_beyond = self.steps_beyond + 1 if self.rate >= self.failed_rate else 0
        return self.rate + self.tuning.increase_step * self.failed_rate * (1 + self.steps_beyond)

    def _ceiling(self) -> float:
        ceiling = self.tuning.ceiling
        return min(ceiling, self.budget.rate) if self.budget is not None else ceiling

    # -- 429s -----------------------------------------------------------------------------
    def on_rate_limited(
        self, now: float, signal: RateLimitSignal, sent: _Ticket | None
    ) -> list[tuple[int, str]]:
        """A request was answered 429. Returns the log lines it calls for, as (level, text)."""
        self.expire(now)
        self.streak = 0
        new_episode = now - self.last_429_at > _QUIET_ENDS_EPISODE
        self.last_429_at = now
        before = (self.rate, self.cooldown_until, self.budget)
        wait = signal.wait_seconds()
        if wait is not None and wait > self.tuning.max_pause:
            return [(logging.DEBUG, _quota_note(wait, self.tuning.max_pause))]
        if signal.limit is not None and signal.reset_in is not None:
            self._take_budget(now, signal.limit, now + signal.reset_in)
        elif sent is None or sent.at >= self.last_decrease_at:
            self._decrease(now, sent)  # else: admitted before the last decrease, same event
        if wait is not None:
            until = now + wait + self.tuning.reset_margin
            if until > self.cooldown_until + 1e-3:  # repeats of one answer differ by noise only
                self.cooldown_until = until
        if (self.rate, self.cooldown_until, self.budget) == before:
            return []  # another answer of an event already acted on
        self.replan(now)
        level = logging.DEBUG
        if new_episode or self.throttled_from is None:
            level, self.throttled_from = logging.WARNING, max(before[0], self.throttled_from or 0)
        return [(level, self._throttle_note(now, before[0]))]

    def _decrease(self, now: float, sent: _Ticket | None) -> None:
        # the rate that failed is the one the request was paced at (it may lag the current one)
        paced_at = sent.rate if sent is not None and sent.rate is not None else self.rate
        self.failed_rate = min(self.rate, paced_at)
        self.rate = max(self.tuning.floor, self.failed_rate * self.tuning.decrease_factor)
        self.steps_beyond, self.last_decrease_at = 0, now

    def _take_budget(self, now: float, limit: int, reset_at: float) -> None:
        """Limit requests per window, spread over it: the next window starts at the reset."""
        if self.budget is not None and abs(self.budget.start - reset_at) < _SHORTEST_WINDOW:
            return  # another answer about the same window
        if self.last_reset_at is not None:
            gap = reset_at - self.last_reset_at
            known = self.window_length
            # successive resets measure the window (a gap of several windows does not)
            if gap >= max(_SHORTEST_WINDOW, reset_at - now) and (
                known is None or gap < 1.5 * known
            ):
                self.window_length = gap
        if self.last_reset_at is None or reset_at - self.last_reset_at >= _SHORTEST_WINDOW:
            self.last_reset_at = reset_at
        length = self.window_length or self._estimated_window(now, limit, reset_at)
        self.budget = WindowBudget(limit, reset_at, reset_at + length)
        self.budget_used = self.budget_pending = 0
        self.failed_rate = self.rate = self.budget.rate
        self.steps_beyond, self.last_decrease_at = 0, now

    def _estimated_window(self, now: float, limit: int, reset_at: float) -> float:
        """Before two resets are seen: the closing window held our last (up to) Limit successes.

        Underestimating costs one more 429, whose reset then measures the window; assuming a
        minute for a 5 s window would stall for most of a minute. A minute is assumed only when
        none of our requests succeeded (someone else spent the budget).
        """
        shortest = max(_SHORTEST_WINDOW, reset_at - now)
        if not self.successes:
            return max(_DEFAULT_WINDOW, shortest)
        oldest_counted = self.successes[-min(limit, len(self.successes))]
        return max(shortest, min(reset_at - oldest_counted, _DEFAULT_WINDOW))

    def _throttle_note(self, now: float, old_rate: float) -> str:
        text = "OpenRouter/provider is throttling; "
        if self.cooldown_until > now:
            text += f"pausing {self.cooldown_until - now:.1f} s; "
        if self.budget is not None:
            span = self.budget.end - self.budget.start
            text += f"budget {self.budget.limit} requests per {span:.0f} s window; "
        return text + f"rate {old_rate * 60:.0f} -> {self.rate * 60:.0f} requests/min"


def _quota_note(wait: float, max_pause: float) -> str:
    return (
        f"OpenRouter asked to wait {wait:.0f} s (more than max_pause={max_pause:.0f} s): "
        "treated as a quota of one model; the key's other requests are not paused"
    )


# the last admission of this thread / asyncio task: (id of the limiter, its ticket)
_LAST_ADMISSION: contextvars.ContextVar[tuple[int, _Ticket] | None] = contextvars.ContextVar(
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
        self._clock, self._wall_clock = clock, wall_clock
        self._sleep, self._async_sleep = sleep, async_sleep
        self._lock = threading.Lock()
        self._waiters: dict[_Waiter, None] = {}  # insertion-ordered: wake-ups in queue order
        tuning = _Tuning(
            floor=min_requests_per_minute / 60,
            ceiling=max_requests_per_minute / 60,
            decrease_factor=decrease_factor,
            increase_step=increase_step,
            successes_before_increase=successes_before_increase,
            max_burst=max_burst,
            max_pause=max_pause,
            reset_margin=reset_margin,
        )
        self._schedule = _Schedule(tuning, rate=requests_per_minute / 60, now=clock())

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
        """True from the start of a throttling episode until the rate is back where it was."""
        with self._lock:
            return self._schedule.throttled_from is not None

    def now(self) -> float:
        """The limiter's clock, the unit of ``record_rate_limited(sent_at=...)``."""
        return self._clock()

    # -- BaseRateLimiter ------------------------------------------------------------------
    def acquire(self, *, blocking: bool = True) -> bool:
        """Wait for this request's slot; with ``blocking=False``, take it only if it is due."""
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
        _LAST_ADMISSION.set((id(self), ticket))
        return True

    def _reserve(self, waiter: _Waiter | None) -> _Ticket:
        with self._lock:
            if waiter is not None:
                self._waiters[waiter] = None
            return self._schedule.reserve(self._clock())

    def _settle(self, ticket: _Ticket) -> tuple[bool, _Ticket]:
        """Admit the ticket if its slot has come; replace it if a new plan voided it."""
        with self._lock:
            now = self._clock()
            verdict = self._schedule.admit(ticket, now)
            if verdict is None:
                return False, self._schedule.reserve(now)
        if verdict:
            _LAST_ADMISSION.set((id(self), ticket))
        return verdict, ticket

    def _leave(self, ticket: _Ticket, waiter: _Waiter | None, admitted: bool) -> None:
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
            sent = _Ticket(sent_at, -1, False, None)
        with self._lock:
            epoch = self._schedule.epoch
            notes = self._schedule.on_rate_limited(self._clock(), signal or RateLimitSignal(), sent)
        self._wake_if_replanned(epoch)
        for level, text in notes:
            logger.log(level, self._with_wall_time(text))

    def _take_last_admission(self) -> _Ticket | None:
        """This thread / task's last admission through this limiter (each is reported once)."""
        last = _LAST_ADMISSION.get()
        if last is None or last[0] != id(self):
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


_SHARED: dict[tuple[str, str], AdaptiveRateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_rate_limiter(api_key: str | None, base_url: str) -> AdaptiveRateLimiter:
    """The process-wide limiter of one API key at one base URL (created on first use).

    Every ``ChatOpenRouter`` of a key shares OpenRouter's limits, so they share one limiter.
    Only a SHA-256 digest of the key is kept.
    """
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()
    key = (digest, base_url.rstrip("/"))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = AdaptiveRateLimiter()
        return _SHARED[key]
