"""The pure state machine behind ``AdaptiveRateLimiter``: every pacing decision over "now".

``Schedule`` holds the rate, the reservations (GCRA slots), the pause until a reset instant and
the window budget, and changes them on successes and 429s. It never locks, sleeps or reads a
clock: ``rate_limiter.AdaptiveRateLimiter`` adds those, and tests drive it with plain numbers.
See ``rate_limiter``'s docstring (and ``docs/rate-limiting.md``) for the algorithm.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass

from .signals import RateLimitSignal

__all__ = ["Schedule", "Ticket", "Tuning", "WindowBudget", "quota_note"]

_DEFAULT_WINDOW = 60.0  # window length assumed when nothing better is known
_SHORTEST_WINDOW = 1.0  # resets closer than this are the same window (or clock noise)
_QUIET_ENDS_EPISODE = 60.0  # a 429 after this long without any starts a new throttling episode
_RECOVERY_SHARE = 0.9  # after a decrease, the rate returns to this share of the rate that failed
_SLOW_START_GAIN = 1.0  # requests/s added per completed success until the first 429
# an increase this large re-times the waiting callers at once, and every additive step (1 % of
# the failed rate by default) is: slots reserved at the old rate do not prove the new one, so with
# 32 callers queued each step would otherwise wait for ~32 completions before the next can count
_REPLAN_GROWTH = 1.005
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
class Ticket:
    at: float  # the slot: admitted at this instant (limiter clock)
    epoch: int  # the plan it belongs to; a new plan voids it
    in_budget: bool  # counted against the window budget
    rate: float | None  # the rate it was paced at (None: unknown)


@dataclass(frozen=True, slots=True)
class Tuning:
    """The constructor's settings, in requests per second."""

    floor: float
    ceiling: float
    decrease_factor: float
    increase_step: float
    successes_before_increase: int
    max_burst: int
    max_pause: float
    reset_margin: float


class Schedule:
    """The limiter's decisions as a pure function of its state and ``now`` (no lock, no sleep)."""

    def __init__(self, tuning: Tuning, *, rate: float, now: float) -> None:
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

    def reserve(self, now: float) -> Ticket:
        """Take the next slot (possibly in the future) for one caller."""
        slot = self.next_slot(now)
        self.tat = max(self.tat, slot) + 1 / self.rate
        in_budget = self.budget is not None and slot < self.budget.end
        self.budget_used += in_budget
        self.budget_pending += in_budget
        if slot > now:
            self.last_queued_at = now
        return Ticket(slot, self.epoch, in_budget, self.rate)

    def admit(self, ticket: Ticket, now: float) -> bool | None:
        """True: admitted. False: not due yet. None: voided by a new plan (reserve again)."""
        if ticket.epoch != self.epoch:
            return None
        if ticket.at > now:
            return False
        self.budget_pending -= ticket.in_budget
        self.last_admitted_at = max(self.last_admitted_at, ticket.at)
        return True

    def cancel(self, ticket: Ticket) -> None:
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
    def on_success(self, now: float, sent: Ticket | None) -> str | None:
        """A request completed. Returns a log line when a throttling episode is over."""
        self.expire(now)
        self.successes.append(now)
        self._maybe_increase(now, sent)
        if self.throttled_from is None:
            return None
        if self.rate >= self.throttled_from:
            self.throttled_from = None
            return f"OpenRouter rate limiting eased; back to {self.rate * 60:.0f} requests/min"
        if now - self.last_429_at > _QUIET_ENDS_EPISODE:
            # the old rate was above the limit (slow start overshot it) and will not come back:
            # a quiet spell ends the episode, as a 429 after one would start a new episode
            self.throttled_from = None
            return (
                f"OpenRouter rate limiting eased; no 429 for {_QUIET_ENDS_EPISODE:.0f} s, "
                f"now {self.rate * 60:.0f} requests/min"
            )
        return None

    def _maybe_increase(self, now: float, sent: Ticket | None) -> None:
        """Count a completed success; after a run of them, raise the rate."""
        slow_start = self.failed_rate is None
        # a success proves the rate it was paced at (slow start: one doubling ago is enough)
        proven = self.rate / 2 if slow_start else self.rate
        if sent is not None and sent.rate is not None and sent.rate < proven:
            return
        self.streak += 1
        if now < self.cooldown_until or self.streak < self._successes_needed():
            return
        self.streak = 0
        if now - self.last_queued_at > max(1.0, 2 / self.rate):
            return  # the callers, not the limiter, set the pace: a higher rate is unproven
        self.rate = min(self._ceiling(), self._increased_rate())
        if self.rate >= self.planned_rate * _REPLAN_GROWTH:
            self.replan(now)  # waiting callers move to the new, earlier slots

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
        self, now: float, signal: RateLimitSignal, sent: Ticket | None
    ) -> list[tuple[int, str]]:
        """A request was answered 429. Returns the log lines it calls for, as (level, text)."""
        self.expire(now)
        self.streak = 0
        new_episode = now - self.last_429_at > _QUIET_ENDS_EPISODE
        self.last_429_at = now
        before = (self.rate, self.cooldown_until, self.budget)
        wait = signal.wait_seconds()
        if wait is not None and wait > self.tuning.max_pause:
            return [(logging.DEBUG, quota_note(wait, self.tuning.max_pause))]
        if signal.limit is not None and signal.reset_in is not None and signal.window_spent:
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

    def _decrease(self, now: float, sent: Ticket | None) -> None:
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


def quota_note(wait: float, max_pause: float) -> str:
    return (
        f"OpenRouter asked to wait {wait:.0f} s (more than max_pause={max_pause:.0f} s): "
        "treated as a quota of one model; the key's other requests are not paused"
    )
