"""``AdaptiveRateLimiter``: a LangChain rate limiter that learns OpenRouter's limits from its 429s.

How it decides (all of it in ``_Schedule``, a pure state machine over "now", so a fake clock can
drive it; ``AdaptiveRateLimiter`` only adds a lock and the sleeping):

- **Pacing.** Admissions are scheduled, not polled: each caller reserves the next free slot
  (GCRA: slots ``1/rate`` apart, a burst of ``max_burst``) and sleeps exactly until it. A change
  of plan (a 429, a pause) voids the outstanding reservations; their holders reserve again.
- **Probing.** Until the first 429 the rate doubles every ``successes_before_increase``
  completed successes (slow start), but only while the limiter is what holds callers back.
- **429 without hints.** One multiplicative decrease per throttling event (x ``decrease_factor``,
  not below the floor): 429s of requests sent before the decrease are the same event. The rate
  that failed is remembered; the rate climbs back quickly to just below it and then probes above
  it additively (``increase_step`` of that rate per run of completed successes).
- **429 with a reset / retry-after.** Nothing is admitted before that instant. ``Limit`` +
  ``Reset`` is a window budget: at most Limit admissions in the window that starts at the reset,
  spread over it. The window length is learnt from successive resets; until two are seen it is
  estimated from our own admissions (the window must hold the last Limit of them), else 60 s.
  The budget expires with its window. A pause longer than ``max_pause`` (a daily quota) is a
  per-model quota, not a rate: it is not applied to every request of the key.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langchain_core.rate_limiters import BaseRateLimiter

from ._rate_signals import RateLimitSignal

__all__ = ["AdaptiveRateLimiter", "WindowBudget", "shared_rate_limiter"]

logger = logging.getLogger(__name__)

_DEFAULT_WINDOW = 60.0  # assumed window length until it is learnt
_SHORTEST_WINDOW = 1.0  # resets closer than this are the same window (or clock noise)
_QUIET_ENDS_EPISODE = 60.0  # a 429 after this long without any starts a new throttling episode
_RECOVERY_SHARE = 0.95  # fast recovery climbs back to this share of the rate that failed
_ADMISSION_HISTORY = 2048  # admissions remembered to estimate a window's length


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


class _Schedule:
    """The limiter's decisions as a pure function of its state and ``now`` (no lock, no sleep)."""

    def __init__(
        self,
        *,
        rate: float,
        floor: float,
        ceiling: float,
        decrease_factor: float,
        increase_step: float,
        successes_before_increase: int,
        max_burst: int,
        max_pause: float,
        reset_margin: float,
        now: float,
    ) -> None:
        self.rate, self.floor, self.ceiling = rate, floor, ceiling
        self.decrease_factor, self.increase_step = decrease_factor, increase_step
        self.successes_before_increase, self.max_burst = successes_before_increase, max_burst
        self.max_pause, self.reset_margin = max_pause, reset_margin
        self.epoch = 0
        self.tat = now  # GCRA "theoretical arrival time" of the next slot
        self.cooldown_until = now
        self.budget: WindowBudget | None = None
        self.budget_used = 0  # admissions (and live reservations) counted in the budget
        self.budget_pending = 0  # live reservations of this epoch counted in the budget
        self.failed_rate: float | None = None  # the rate of the last no-hint throttling event
        self.last_decrease_at = -math.inf
        self.last_429_at = -math.inf
        self.last_reset_at: float | None = None
        self.window_length: float | None = None  # learnt from successive resets
        self.streak = 0  # completed successes since the last increase or 429
        self.last_queued_at = -math.inf  # last time a caller had to wait for a slot
        self.admissions: deque[float] = deque(maxlen=_ADMISSION_HISTORY)
        self.throttled_from: float | None = None  # the rate before the episode began

    # -- admission ------------------------------------------------------------------------
    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def next_slot(self, now: float) -> float:
        """The earliest instant >= now at which a request may be admitted."""
        self._expire(now)
        tolerance = (self.max_burst - 1) * self.interval
        slot = max(now, self.cooldown_until, self.tat - tolerance)
        if self.budget is not None and slot < self.budget.end:
            slot = max(slot, self.budget.start)
            if self.budget_used >= self.budget.limit:
                slot = self.budget.end  # the window is spent: the next one is free again
        return slot

    def reserve(self, now: float) -> _Ticket:
        """Take the next slot (possibly in the future) for one caller."""
        slot = self.next_slot(now)
        self.tat = max(self.tat, slot) + self.interval
        in_budget = self.budget is not None and slot < self.budget.end
        if in_budget:
            self.budget_used += 1
            self.budget_pending += 1
        if slot > now:
            self.last_queued_at = now
        return _Ticket(slot, self.epoch, in_budget)

    def confirm(self, ticket: _Ticket) -> bool:
        """Turn a reservation into an admission, unless a new plan voided it."""
        if ticket.epoch != self.epoch:
            return False
        if ticket.in_budget:
            self.budget_pending -= 1
        self.admissions.append(ticket.at)
        return True

    def cancel(self, ticket: _Ticket) -> None:
        """Give back a reservation whose holder stopped waiting (its slot stays spent)."""
        if ticket.epoch == self.epoch and ticket.in_budget:
            self.budget_pending -= 1
            self.budget_used -= 1

    def _replan(self, now: float) -> None:
        """Void every outstanding reservation: their holders reserve again under the new plan."""
        self.epoch += 1
        self.budget_used -= self.budget_pending
        self.budget_pending = 0
        last = self.admissions[-1] if self.admissions else -math.inf
        self.tat = max(now, last + self.interval)

    def _expire(self, now: float) -> None:
        if self.budget is not None and now >= self.budget.end:
            self.budget = None  # hints expire with their window
            self.budget_used = self.budget_pending = 0

    # -- feedback -------------------------------------------------------------------------
    def on_success(self, now: float) -> str | None:
        """A request completed. Returns a log line when the rate is back to its old level."""
        self._expire(now)
        self.streak += 1
        if self.streak < self.successes_before_increase or now < self.cooldown_until:
            return None
        self.streak = 0
        if now - self.last_queued_at > max(1.0, 2 * self.interval):
            return None  # the callers, not the limiter, set the pace: an increase is unproven
        self.rate = min(self._ceiling(), self._increased_rate())
        if self.throttled_from is not None and self.rate >= self.throttled_from:
            self.throttled_from = None
            return f"OpenRouter rate limiting eased; back to {self.rate * 60:.0f} requests/min"
        return None

    def _increased_rate(self) -> float:
        if self.failed_rate is None:  # slow start: nothing has failed yet
            return self.rate * 2
        step = self.increase_step * self.failed_rate
        target = _RECOVERY_SHARE * self.failed_rate
        if self.rate + step < target:  # far below the rate that failed: climb back fast
            return max(self.rate + step, (self.rate + target) / 2)
        return self.rate + step

    def _ceiling(self) -> float:
        return min(self.ceiling, self.budget.rate) if self.budget is not None else self.ceiling

    def on_rate_limited(
        self, now: float, signal: RateLimitSignal, sent_at: float | None
    ) -> list[tuple[int, str]]:
        """A request was answered 429. Returns the log lines it calls for, as (level, text)."""
        self._expire(now)
        self.streak = 0
        new_episode = now - self.last_429_at > _QUIET_ENDS_EPISODE
        self.last_429_at = now
        old_rate = self.rate
        wait = signal.wait_seconds()
        if wait is not None and wait > self.max_pause:
            return [(logging.DEBUG, _quota_note(wait, self.max_pause))]
        if signal.has_window_budget:
            assert signal.limit is not None and signal.reset_in is not None
            self._take_budget(now, signal.limit, now + signal.reset_in)
        elif sent_at is None or sent_at >= self.last_decrease_at:
            self._decrease(now)  # else: sent before the last decrease, the same event
        if wait is not None:
            self.cooldown_until = max(self.cooldown_until, now + wait + self.reset_margin)
        if self.rate == old_rate and wait is None:
            return []
        self._replan(now)
        if new_episode or self.throttled_from is None:
            self.throttled_from = max(old_rate, self.throttled_from or 0.0)
            return [(logging.WARNING, self._throttle_note(now, old_rate))]
        return [(logging.DEBUG, self._throttle_note(now, old_rate))]

    def _decrease(self, now: float) -> None:
        self.failed_rate = self.rate
        self.rate = max(self.floor, self.rate * self.decrease_factor)
        self.last_decrease_at = now

    def _take_budget(self, now: float, limit: int, reset_at: float) -> None:
        """Limit requests per window: the next window starts at the reset."""
        if self.last_reset_at is not None:
            gap = reset_at - self.last_reset_at
            if gap >= max(_SHORTEST_WINDOW, reset_at - now) and (
                self.window_length is None or gap < 1.5 * self.window_length
            ):
                self.window_length = gap  # successive resets: a measurement, not a guess
        if self.last_reset_at is None or reset_at - self.last_reset_at >= _SHORTEST_WINDOW:
            self.last_reset_at = reset_at
        length = self.window_length or self._estimated_window(now, limit, reset_at)
        self.budget = WindowBudget(limit, reset_at, reset_at + length)
        self.budget_used = self.budget_pending = 0
        self.failed_rate = self.rate = self.budget.rate

    def _estimated_window(self, now: float, limit: int, reset_at: float) -> float:
        """Before two resets are seen: the closing window held our last Limit admissions."""
        shortest = max(_SHORTEST_WINDOW, reset_at - now)
        if len(self.admissions) < limit:
            return max(_DEFAULT_WINDOW, shortest)  # someone else spent it: assume a minute
        return min(
            max(reset_at - self.admissions[-limit], shortest), max(_DEFAULT_WINDOW, shortest)
        )

    def _throttle_note(self, now: float, old_rate: float) -> str:
        pause = max(0.0, self.cooldown_until - now)
        text = "OpenRouter/provider is throttling; "
        if pause > 0:
            text += f"pausing {pause:.1f} s; "
        if self.budget is not None:
            span = self.budget.end - self.budget.start
            text += f"budget {self.budget.limit} requests per {span:.0f} s window; "
        return text + f"rate {old_rate * 60:.0f} -> {self.rate * 60:.0f} requests/min"


def _quota_note(wait: float, max_pause: float) -> str:
    return (
        f"OpenRouter asked to wait {wait:.0f} s (more than max_pause={max_pause:.0f} s): "
        "a quota for this model, not a rate; other requests are not paused"
    )


# which limiter admitted the current thread / task's last request, and when (limiter clock)
_LAST_ADMISSION: contextvars.ContextVar[tuple[int, float] | None] = contextvars.ContextVar(
    "openrouter_last_admission", default=None
)


class AdaptiveRateLimiter(BaseRateLimiter):
    """A ``BaseRateLimiter`` that slows down on OpenRouter's 429s and speeds up on completions.

    Use it wherever LangChain takes a ``rate_limiter``. ``ChatOpenRouter`` shares one per API key
    and reports every attempt's outcome (``record_success`` / ``record_rate_limited``); any other
    caller that reports outcomes gets the same adaptation, one that does not gets plain pacing.
    Thread-safe and asyncio-safe at the same time: the state is guarded by a lock that is never
    held while sleeping, and ``aacquire`` sleeps with ``async_sleep``.

    Args:
        requests_per_minute: the starting rate (probed upward until the first 429).
        min_requests_per_minute: the floor of multiplicative decreases.
        max_requests_per_minute: the ceiling of increases.
        decrease_factor: the rate is multiplied by this on each throttling event (0 < f < 1).
        increase_step: additive increase per run of successes, as a share of the rate that last
            failed (after a window-budget hint: of the budget's rate).
        successes_before_increase: completed successes per increase.
        max_burst: admissions allowed back to back after an idle spell.
        max_pause: a reset or retry-after further away than this (seconds) is treated as a quota
            of one model and does not pause the other requests of the key.
        reset_margin: seconds added to every reset / retry-after instant (clock skew).
        clock, wall_clock, sleep, async_sleep: injected time (monotonic seconds, epoch seconds).
    """

    def __init__(
        self,
        requests_per_minute: float = 600.0,
        *,
        min_requests_per_minute: float = 6.0,
        max_requests_per_minute: float = 60_000.0,
        decrease_factor: float = 0.75,
        increase_step: float = 0.02,
        successes_before_increase: int = 10,
        max_burst: int = 1,
        max_pause: float = 60.0,
        reset_margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        _check_positive(
            requests_per_minute=requests_per_minute,
            min_requests_per_minute=min_requests_per_minute,
            max_requests_per_minute=max_requests_per_minute,
            increase_step=increase_step,
            max_pause=max_pause,
        )
        if not min_requests_per_minute <= requests_per_minute <= max_requests_per_minute:
            raise ValueError(
                f"requests_per_minute={requests_per_minute} must lie between "
                f"min_requests_per_minute={min_requests_per_minute} and "
                f"max_requests_per_minute={max_requests_per_minute}; widen the bounds or move it."
            )
        if not 0 < decrease_factor < 1:
            raise ValueError(
                f"decrease_factor={decrease_factor} must be between 0 and 1, e.g. 0.75."
            )
        if successes_before_increase < 1 or max_burst < 1 or reset_margin < 0:
            raise ValueError(
                f"successes_before_increase={successes_before_increase} and max_burst={max_burst} "
                f"must be >= 1 and reset_margin={reset_margin} >= 0."
            )
        self._clock, self._wall_clock = clock, wall_clock
        self._sleep, self._async_sleep = sleep, async_sleep
        self._lock = threading.Lock()
        self._schedule = _Schedule(
            rate=requests_per_minute / 60,
            floor=min_requests_per_minute / 60,
            ceiling=max_requests_per_minute / 60,
            decrease_factor=decrease_factor,
            increase_step=increase_step,
            successes_before_increase=successes_before_increase,
            max_burst=max_burst,
            max_pause=max_pause,
            reset_margin=reset_margin,
            now=clock(),
        )

    # -- read-only introspection ------------------------------------------------------------
    @property
    def requests_per_minute(self) -> float:
        """The current admission rate, requests per minute."""
        with self._lock:
            return self._schedule.rate * 60

    @property
    def cooldown_until(self) -> float | None:
        """The instant (``clock`` seconds) before which nothing is admitted, or None."""
        with self._lock:
            until = self._schedule.cooldown_until
            return until if until > self._clock() else None

    def cooldown_remaining(self) -> float:
        """Seconds until requests may be admitted again after a reset / retry-after (0 if none)."""
        with self._lock:
            return max(0.0, self._schedule.cooldown_until - self._clock())

    @property
    def window_budget(self) -> WindowBudget | None:
        """The window budget learnt from ``X-RateLimit-Limit`` / ``-Reset``, while it lasts."""
        with self._lock:
            self._schedule._expire(self._clock())
            return self._schedule.budget

    @property
    def throttled(self) -> bool:
        """True from a throttling episode's start until the rate is back to its level before."""
        with self._lock:
            return self._schedule.throttled_from is not None

    def now(self) -> float:
        """The limiter's clock (for ``record_rate_limited(sent_at=...)``)."""
        return self._clock()

    # -- BaseRateLimiter --------------------------------------------------------------------
    def acquire(self, *, blocking: bool = True) -> bool:
        """Wait for this request's slot (or, with ``blocking=False``, take it only if it is due)."""
        if not blocking:
            return self._try_now()
        ticket = self._reserve()
        while True:
            try:
                delay = ticket.at - self._clock()
                if delay > 0:
                    self._sleep(delay)
                    continue  # sleeps may end early: check the slot again
            except BaseException:
                self._cancel(ticket)
                raise
            admitted, ticket = self._confirm_or_reserve(ticket)
            if admitted:
                return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        """Like ``acquire``, sleeping with ``async_sleep`` so the event loop keeps running."""
        if not blocking:
            return self._try_now()
        ticket = self._reserve()
        while True:
            try:
                delay = ticket.at - self._clock()
                if delay > 0:
                    await self._async_sleep(delay)
                    continue
            except BaseException:  # cancelled while waiting: give the budget back
                self._cancel(ticket)
                raise
            admitted, ticket = self._confirm_or_reserve(ticket)
            if admitted:
                return True

    def _try_now(self) -> bool:
        with self._lock:
            now = self._clock()
            if self._schedule.next_slot(now) > now:
                self._schedule.last_queued_at = now
                return False
            ticket = self._schedule.reserve(now)
            self._schedule.confirm(ticket)
        _LAST_ADMISSION.set((id(self), ticket.at))
        return True

    def _reserve(self) -> _Ticket:
        with self._lock:
            return self._schedule.reserve(self._clock())

    def _confirm_or_reserve(self, ticket: _Ticket) -> tuple[bool, _Ticket]:
        with self._lock:
            if self._schedule.confirm(ticket):
                _LAST_ADMISSION.set((id(self), ticket.at))
                return True, ticket
            return False, self._schedule.reserve(self._clock())

    def _cancel(self, ticket: _Ticket) -> None:
        with self._lock:
            self._schedule.cancel(ticket)

    # -- feedback -------------------------------------------------------------------------
    def record_success(self) -> None:
        """Report that a request admitted by this limiter completed successfully."""
        with self._lock:
            note = self._schedule.on_success(self._clock())
        if note:
            logger.info(note)

    def record_rate_limited(
        self, signal: RateLimitSignal | None = None, *, sent_at: float | None = None
    ) -> None:
        """Report a 429 and what it said (``parse_rate_limit_signal``).

        ``sent_at`` is when that request was admitted (``now()``); it defaults to the last
        admission of this thread / task, so 429s of requests sent before the last decrease are
        recognised as part of the same throttling event and do not decrease the rate again.
        """
        if sent_at is None:
            last = _LAST_ADMISSION.get()
            sent_at = last[1] if last is not None and last[0] == id(self) else None
        with self._lock:
            notes = self._schedule.on_rate_limited(
                self._clock(), signal or RateLimitSignal(), sent_at
            )
        for level, text in notes:
            logger.log(level, text)


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name}={value} must be > 0.")


_SHARED: dict[tuple[str, str], AdaptiveRateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_rate_limiter(api_key: str | None, base_url: str) -> AdaptiveRateLimiter:
    """The process-wide limiter of one API key at one base URL (created on first use).

    Every ``ChatOpenRouter`` of a key shares OpenRouter's limits, so they share one limiter.
    The key is kept only as a SHA-256 digest.
    """
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()
    key = (digest, base_url.rstrip("/"))
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = AdaptiveRateLimiter()
        return _SHARED[key]
