"""The retry policy of ``ChatOpenRouter`` (tenacity inside).

- Retried: 408, 429, 5xx (500, 502, 503, 524, 529, ...), connection errors and timeouts. Not
  retried: 400, 401, 402, 403, 404, 413, 422 and anything else: sending them again cannot help.
- ``max_retries`` retries after the first attempt; 0 means exactly one attempt.
- Every attempt, retries included, first waits for the rate limiter; an ``AdaptiveRateLimiter``
  is told how each attempt ended, so it learns the account's limits, and is acquired with
  ``max_rate_limit_wait`` as its bound: a longer wait raises ``RateLimitError`` at once.
- The wait before a retry is the server's when it gives one (reset / retry-after: until that
  instant, plus a little jitter) and jittered exponential backoff otherwise. A server wait longer
  than ``max_rate_limit_wait`` (a daily free-tier quota) raises ``RateLimitError`` at once,
  saying when the limit resets.
- When the retries run out, the last error is raised (never tenacity's RetryError), its message
  ending with what was done: "Sent 3 times (max_retries=2)." or "Not retried (max_retries=0).".
- While ``waits.skipped()`` is active (replaying cassettes) the waits are computed, not slept.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

from langchain_core.rate_limiters import BaseRateLimiter
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ..errors import (
    APIConnectionError,
    OpenRouterError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
)
from . import waits
from .advice import resets_advice
from .limiter import AdaptiveRateLimiter
from .signals import parse_rate_limit_signal

__all__ = ["RETRYABLE", "acall_with_retries", "call_with_retries", "report_success"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The errors worth sending again: the server or the connection may do better next time.
RETRYABLE: tuple[type[OpenRouterError], ...] = (
    RequestTimeoutError,
    RateLimitError,
    ServerError,
    APIConnectionError,
)

BACKOFF_BASE = 1.0  # the first retry waits 0.5-1 s when the server names no time
BACKOFF_CAP = 8.0  # the longest backoff between two attempts
SERVER_WAIT_JITTER = 0.1  # spread over retries that wait for the same reset instant


def report_success(rate_limiter: BaseRateLimiter | None) -> None:
    """Tell an adaptive limiter that a request completed (streams report at their end)."""
    if isinstance(rate_limiter, AdaptiveRateLimiter):
        rate_limiter.record_success()


class _Policy:
    """One call's retry decisions; tenacity asks it whether and how long to wait."""

    def __init__(
        self,
        *,
        max_retries: int,
        rate_limiter: BaseRateLimiter | None,
        max_rate_limit_wait: float,
        report_success: bool,
        first_attempt_acquired: bool,
        wall_clock: Callable[[], float],
        rng: Callable[[], float],
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries={max_retries} must be >= 0 (0 means a single attempt).")
        self.max_retries = max_retries
        self.adaptive = rate_limiter if isinstance(rate_limiter, AdaptiveRateLimiter) else None
        # the retries' own acquires are bounded like the caller's: never longer than allowed
        self.limiter = (
            self.adaptive.with_max_wait(max_rate_limit_wait)
            if self.adaptive is not None
            else rate_limiter
        )
        self.max_rate_limit_wait = max_rate_limit_wait
        self.report_success = report_success
        self.skip_acquire = first_attempt_acquired
        self.wall_clock, self.rng = wall_clock, rng
        self.server_wait: float | None = None  # what the last failure asked for, in seconds
        self.attempts = 0

    # -- around each attempt -------------------------------------------------------------
    def acquire(self) -> BaseRateLimiter | None:
        """The limiter this attempt must still acquire (None: nothing to acquire)."""
        skip, self.skip_acquire = self.skip_acquire, False
        return None if skip else self.limiter

    def refused(self, err: RateLimitError) -> None:
        """The limiter refused a wait longer than allowed: raised as is, never retried."""
        self.server_wait = err.retry_after if err.retry_after is not None else float("inf")

    def after_success(self) -> None:
        if self.report_success and self.adaptive is not None:
            self.adaptive.record_success()

    def after_failure(self, err: BaseException) -> None:
        """Record what the failure says; raise at once if its wait is too long to honour."""
        self.server_wait = None
        if not isinstance(err, OpenRouterError):
            return
        now = waits.answer_time(err.headers, self.wall_clock())  # a replay: when recorded
        signal = parse_rate_limit_signal(err.headers, err.body, now=now)
        wait = signal.wait_seconds()
        self.server_wait = wait if wait is not None else err.retry_after
        if isinstance(err, RateLimitError):
            if self.adaptive is not None:
                self.adaptive.record_rate_limited(signal)
            if self.server_wait is not None and self.server_wait > self.max_rate_limit_wait:
                raise self._too_long(err, self.server_wait) from err

    # -- tenacity hooks ------------------------------------------------------------------
    def should_retry(self, exc: BaseException) -> bool:
        too_long = self.server_wait is not None and self.server_wait > self.max_rate_limit_wait
        return isinstance(exc, RETRYABLE) and not too_long

    def wait(self, state: RetryCallState) -> float:
        if self.server_wait is not None:
            return self.server_wait + SERVER_WAIT_JITTER * self.rng()
        backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (state.attempt_number - 1))
        return backoff * (0.5 + 0.5 * self.rng())  # jitter: retries must not fire together

    def log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = getattr(exc, "status_code", None) or type(exc).__name__
        delay = float(state.next_action.sleep) if state.next_action else 0.0
        logger.debug(
            "OpenRouter answered %s; retry %d of %d in %.2f s",
            status,
            state.attempt_number,
            self.max_retries,
            delay,
        )

    def retrying_options(self) -> dict[str, Any]:
        """The tenacity settings shared by ``Retrying`` and ``AsyncRetrying``."""
        return {
            "stop": stop_after_attempt(self.max_retries + 1),
            "retry": retry_if_exception(self.should_retry),
            "wait": self.wait,
            "before_sleep": self.log_retry,
            "reraise": True,  # the last error itself, never tenacity's RetryError
        }

    # -- messages ------------------------------------------------------------------------
    def tell_what_was_done(self, err: BaseException) -> None:
        """End the final error's message with how often the request was sent, when retrying
        was on the table (a retryable error); other errors are never sent twice."""
        if not isinstance(err, RETRYABLE) or self.attempts == 0:
            return  # not retryable, or refused before anything was sent
        if self.attempts > 1:
            note = f"Sent {self.attempts} times (max_retries={self.max_retries})."
        elif self.max_retries == 0:
            note = "Not retried (max_retries=0)."
        else:
            return  # raised at once with its own reason (a reset too far away)
        err.message = f"{err.message} {note}"
        err.args = (err.message,)

    def _too_long(self, err: RateLimitError, wait: float) -> RateLimitError:
        advice = resets_advice(wait, self.max_rate_limit_wait, self.wall_clock())
        return type(err)(
            f"{err.message} {advice}",
            status_code=err.status_code,
            code=err.code,
            provider_name=err.provider_name,
            raw=err.raw,
            retry_after=wait,
            generation_id=err.generation_id,
            metadata=err.metadata,
            headers=err.headers,
            body=err.body,
        )


def call_with_retries(
    attempt: Callable[[], T],
    *,
    max_retries: int,
    rate_limiter: BaseRateLimiter | None,
    max_rate_limit_wait: float = 60.0,
    report_success: bool = True,
    first_attempt_acquired: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    wall_clock: Callable[[], float] = time.time,
    rng: Callable[[], float] = random.random,
) -> T:
    """Run ``attempt`` (one HTTP exchange) with the retry policy of this module.

    Args:
        attempt: sends the request once and returns its result or raises an OpenRouterError.
        max_retries: retries after the first attempt (0: exactly one attempt).
        rate_limiter: acquired before every attempt; an ``AdaptiveRateLimiter`` also gets
            each attempt's outcome.
        max_rate_limit_wait: the longest server-requested wait (seconds) that is waited out.
        report_success: False when the caller reports completion itself (a stream that is
            only complete after its last chunk: call ``report_success`` then).
        first_attempt_acquired: the caller already acquired the limiter for the first attempt
            (LangChain's ``BaseChatModel`` does before ``_generate``).
        sleep, wall_clock, rng: injected for tests.
    """
    policy = _Policy(
        max_retries=max_retries,
        rate_limiter=rate_limiter,
        max_rate_limit_wait=max_rate_limit_wait,
        report_success=report_success,
        first_attempt_acquired=first_attempt_acquired,
        wall_clock=wall_clock,
        rng=rng,
    )

    def once() -> T:
        limiter = policy.acquire()
        if limiter is not None:
            try:
                limiter.acquire(blocking=True)
            except RateLimitError as err:
                policy.refused(err)
                raise
        policy.attempts += 1
        try:
            result = attempt()
        except Exception as err:
            policy.after_failure(err)
            raise
        policy.after_success()
        return result

    try:
        return once()  # see _raise: the first attempt
    except BaseException as err:
        replay = [err]

    def again() -> T:
        return once() if not replay else _raise(replay.pop())

    retrying = Retrying(sleep=waits.sleep_unless_skipped(sleep), **policy.retrying_options())
    try:
        return retrying(again)
    except OpenRouterError as err:
        policy.tell_what_was_done(err)
        raise


async def acall_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    max_retries: int,
    rate_limiter: BaseRateLimiter | None,
    max_rate_limit_wait: float = 60.0,
    report_success: bool = True,
    first_attempt_acquired: bool = False,
    async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    wall_clock: Callable[[], float] = time.time,
    rng: Callable[[], float] = random.random,
) -> T:
    """The async ``call_with_retries``: waits with ``async_sleep``, never blocking the loop."""
    policy = _Policy(
        max_retries=max_retries,
        rate_limiter=rate_limiter,
        max_rate_limit_wait=max_rate_limit_wait,
        report_success=report_success,
        first_attempt_acquired=first_attempt_acquired,
        wall_clock=wall_clock,
        rng=rng,
    )

    async def once() -> T:
        limiter = policy.acquire()
        if limiter is not None:
            try:
                await limiter.aacquire(blocking=True)
            except RateLimitError as err:
                policy.refused(err)
                raise
        policy.attempts += 1
        try:
            result = await attempt()
        except Exception as err:
            policy.after_failure(err)
            raise
        policy.after_success()
        return result

    try:
        return await once()  # see _raise: the first attempt
    except BaseException as err:
        replay = [err]

    async def again() -> T:
        return await once() if not replay else _raise(replay.pop())

    retrying = AsyncRetrying(
        sleep=waits.asleep_unless_skipped(async_sleep), **policy.retrying_options()
    )
    try:
        return await retrying(again)
    except OpenRouterError as err:
        policy.tell_what_was_done(err)
        raise


# The first attempt runs before any tenacity object exists. A tenacity ``Retrying`` is a knot of
# reference cycles (its thread-local state holds its own bound methods) that only the cyclic
# garbage collector frees: about 27 objects a call, which at concurrency 64 made the collector run
# 1.5 times as often as for the raw SDK. Most calls succeed at once and never build one. A first
# attempt that raises is replayed as tenacity's first attempt (its error re-raised, nothing sent
# twice), so every decision about it and after it (retry or not, the wait, the log line, the
# final error's message) is tenacity's, as before.
def _raise(err: BaseException) -> NoReturn:
    raise err
