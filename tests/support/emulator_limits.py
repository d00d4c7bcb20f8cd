"""Hidden rate limits of the emulator, and the counters benchmarks read.

Two shapes of real limiting, which a client must handle differently:

* :class:`ProviderBucket` -- an upstream provider's token bucket. Over the limit the client gets
  429 "Provider returned error" with *no* hint of when to retry (like a provider 429).
* :class:`WindowBudget` -- OpenRouter's own fixed-window budget. Over it the client gets 429 with
  ``X-RateLimit-Limit/Remaining/Reset`` (epoch ms of the window end) in headers and body.

Both take a ``clock`` (seconds, default ``time.time``) so tests drive them with a fake clock, and
both keep a record of their refusals (:attr:`HiddenLimit.refusals`: the clock's instant of every
429 they answered), which benchmarks read to count the 429s of a burst or of each window.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.support.emulator_replies import Reply

__all__ = ["Counters", "EmulatorStats", "HiddenLimit", "ProviderBucket", "WindowBudget"]

Clock = Callable[[], float]


class HiddenLimit:
    """A limit the client cannot see until it trips it.

    Subclasses take their ``_lock`` around each decision and call :meth:`_refused` under it, so the
    record of refusals is in the order the 429s were decided, whichever server thread decided them.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._refusals: list[float] = []

    def admit(self, model_id: str) -> Reply | None:
        """None to let the request through, else the 429 to send."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget all consumption (a fresh budget) and the record of refusals."""
        with self._lock:
            self._refusals.clear()
            self._fresh()

    def _fresh(self) -> None:
        """Forget consumption (the lock is held)."""

    @property
    def refusals(self) -> tuple[float, ...]:
        """The clock's instant of every 429 answered since creation or :meth:`reset`, in order."""
        with self._lock:
            return tuple(self._refusals)

    def _refused(self, now: float) -> None:
        self._refusals.append(now)


class ProviderBucket(HiddenLimit):
    """A token bucket of ``rate`` requests/second holding at most ``burst`` (default: ``rate``)."""

    def __init__(
        self,
        rate: float = 20.0,
        burst: float | None = None,
        *,
        clock: Clock = time.time,
        provider: str = "Emulated",
    ) -> None:
        if rate <= 0:
            raise ValueError(f"ProviderBucket(rate={rate}): rate must be > 0 requests per second")
        super().__init__(clock)
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self.provider = provider
        self._tokens = self.burst
        self._stamp = clock()

    def _fresh(self) -> None:
        self._tokens, self._stamp = self.burst, self._clock()

    def admit(self, model_id: str) -> Reply | None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            self._refused(now)
        raw = (
            f"{model_id} is temporarily rate-limited upstream. Please retry shortly, or add "
            "your own key to accumulate your rate limits: https://openrouter.ai/settings/integrations"
        )
        return Reply.provider_error(429, provider=self.provider, raw=raw)


class WindowBudget(HiddenLimit):
    """At most ``limit`` requests per fixed ``window`` seconds (windows aligned to the epoch)."""

    def __init__(self, limit: int = 20, window: float = 5.0, *, clock: Clock = time.time) -> None:
        if limit < 0 or window <= 0:
            raise ValueError(
                f"WindowBudget(limit={limit}, window={window}): need limit >= 0, window > 0"
            )
        super().__init__(clock)
        self.limit = limit
        self.window = window
        self._index = -1
        self._used = 0

    def _fresh(self) -> None:
        self._index, self._used = -1, 0

    def window_of(self, instant: float) -> int:
        """The index of the window holding ``instant`` (windows are aligned to the epoch)."""
        return math.floor(instant / self.window)

    def refusals_per_window(self, first: int | None = None, last: int | None = None) -> list[int]:
        """The 429s answered in each window from ``first`` to ``last`` (window indices, default:
        those of the first and the last refusal), in order; [] when none were answered and no
        range is given."""
        indices = [self.window_of(at) for at in self.refusals]
        if first is None:
            first = min(indices, default=0)
        if last is None:
            last = max(indices, default=first - 1)
        return [indices.count(i) for i in range(first, last + 1)]

    def admit(self, model_id: str) -> Reply | None:
        with self._lock:
            now = self._clock()
            index = self.window_of(now)
            if index != self._index:
                self._index, self._used = index, 0
            if self._used < self.limit:
                self._used += 1
                return None
            self._refused(now)
        reset_ms = round((index + 1) * self.window * 1000)
        return Reply.rate_limited(limit=self.limit, remaining=0, reset_ms=reset_ms)


@dataclass(frozen=True)
class EmulatorStats:
    """Chat-completion counters: every attempt, the 429s among them, the 200s, peak concurrency."""

    attempts: int
    rate_limited: int
    successes: int
    peak_in_flight: int


class Counters:
    """Thread-safe counters behind :class:`EmulatorStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._attempts = self._limited = self._ok = self._in_flight = self._peak = 0

    def started(self) -> None:
        with self._lock:
            self._attempts += 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)

    def finished(self, status: int) -> None:
        with self._lock:
            self._in_flight -= 1
            if status == 429:
                self._limited += 1
            elif status == 200:
                self._ok += 1

    def snapshot(self) -> EmulatorStats:
        with self._lock:
            return EmulatorStats(self._attempts, self._limited, self._ok, self._peak)
