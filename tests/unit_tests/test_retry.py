"""The retry policy: what is retried, how long it waits, what it raises, how it uses the limiter."""

from __future__ import annotations

import asyncio
import copy
import gc
import logging
from datetime import datetime, timezone
from typing import Any

import pytest
from langchain_core.rate_limiters import BaseRateLimiter

from langchain_openrouter_fenic import errors
from langchain_openrouter_fenic.rate_limits import retry as _retry
from langchain_openrouter_fenic.rate_limits.limiter import AdaptiveRateLimiter
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal

WALL = 1_788_825_540.0  # the wall clock of every test (epoch seconds)


def http_error(
    status: int, *, retry_after: float | None = None, headers: dict[str, str] | None = None
) -> errors.OpenRouterError:
    cls = errors.STATUS_CLASSES[status]
    return cls(f"HTTP {status}", status_code=status, retry_after=retry_after, headers=headers)


class Attempts:
    """One HTTP exchange per call: raises the queued errors in turn, then answers "ok"."""

    def __init__(self, *failures: BaseException, forever: BaseException | None = None) -> None:
        self.failures = list(failures)
        self.forever = forever
        self.raised: list[BaseException] = []
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        error = self.failures.pop(0) if self.failures else self.forever
        if error is None:
            return "ok"
        if error is self.forever:  # a fresh instance each time, to check which one is raised
            error = copy.copy(error)
        self.raised.append(error)
        raise error

    async def acall(self) -> str:
        return self()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.append(seconds)


class CountingLimiter(BaseRateLimiter):
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        self.acquired += 1
        return True


class RecordingLimiter(AdaptiveRateLimiter):
    """The real adaptive limiter on a fake clock, remembering the feedback it got."""

    def __init__(self, **options: Any) -> None:
        self.now_ = 0.0
        super().__init__(
            clock=lambda: self.now_,
            wall_clock=lambda: WALL + self.now_,
            sleep=self._advance,
            **options,
        )
        self.successes = 0
        self.signals: list[RateLimitSignal | None] = []

    def _advance(self, seconds: float) -> None:
        self.now_ += seconds

    def record_success(self) -> None:
        self.successes += 1
        super().record_success()

    def record_rate_limited(self, signal: RateLimitSignal | None = None, **kw: Any) -> None:
        self.signals.append(signal)
        super().record_rate_limited(signal, **kw)


def call(
    attempt: Attempts,
    *,
    max_retries: int = 2,
    limiter: BaseRateLimiter | None = None,
    sleeps: Sleeps | None = None,
    **options: Any,
) -> str:
    return _retry.call_with_retries(
        attempt,
        max_retries=max_retries,
        rate_limiter=limiter,
        sleep=sleeps if sleeps is not None else Sleeps(),
        wall_clock=lambda: WALL,
        rng=lambda: 0.0,
        **options,
    )


RETRIED = [pytest.param(http_error(s), id=str(s)) for s in (408, 429, 500, 502, 503, 524, 529)] + [
    pytest.param(errors.APIConnectionError("connection refused"), id="connection"),
    pytest.param(errors.APITimeoutError("timed out"), id="timeout"),
]
NOT_RETRIED = [
    pytest.param(http_error(s), id=str(s)) for s in (400, 401, 402, 403, 404, 413, 422)
] + [
    pytest.param(errors.ProviderError("Provider returned error", status_code=400), id="provider"),
    pytest.param(errors.ModerationError("flagged", status_code=403), id="moderation"),
    pytest.param(errors.NoEndpointsError("No endpoints found", status_code=404), id="no-endp"),
    pytest.param(errors.ResponseParseError("not JSON"), id="parse"),
    pytest.param(ValueError("a bug"), id="bug"),
]


@pytest.mark.parametrize("error", RETRIED)
def test_retryable_errors_are_retried_then_the_last_one_is_raised(error: Exception) -> None:
    attempt = Attempts(forever=error)
    with pytest.raises(type(error)) as raised:
        call(attempt, max_retries=2)
    assert attempt.calls == 3
    assert raised.value is attempt.raised[-1]  # the original error, not tenacity's RetryError


@pytest.mark.parametrize("error", NOT_RETRIED)
def test_other_errors_are_raised_after_one_attempt(error: Exception) -> None:
    attempt = Attempts(error)
    with pytest.raises(type(error)) as raised:
        call(attempt, max_retries=5)
    assert attempt.calls == 1
    assert raised.value is error


def test_max_retries_zero_means_exactly_one_attempt() -> None:
    attempt = Attempts(forever=http_error(503))
    with pytest.raises(errors.ServiceUnavailableError):
        call(attempt, max_retries=0)
    assert attempt.calls == 1


def test_success_after_failures_returns_the_result() -> None:
    sleeps = Sleeps()
    assert call(Attempts(http_error(500), http_error(429)), sleeps=sleeps) == "ok"
    assert len(sleeps) == 2


@pytest.mark.parametrize(("rng", "expected"), [(0.0, [0.5, 1, 2, 4, 4]), (1.0, [1, 2, 4, 8, 8])])
def test_backoff_without_server_hints_is_jittered_exponential_and_capped(
    rng: float, expected: list[float]
) -> None:
    sleeps = Sleeps()
    with pytest.raises(errors.ServerError):
        _retry.call_with_retries(
            Attempts(forever=http_error(500)),
            max_retries=5,
            rate_limiter=None,
            sleep=sleeps,
            rng=lambda: rng,
        )
    assert sleeps == expected


def test_wait_until_the_reset_instant_of_a_429() -> None:
    reset_ms = str(int((WALL + 5) * 1000))
    sleeps = Sleeps()
    error = http_error(
        429,
        headers={
            "x-ratelimit-limit": "20",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset_ms,
        },
    )
    assert call(Attempts(error), sleeps=sleeps) == "ok"
    assert sleeps == [pytest.approx(5.0)]


def test_wait_honours_retry_after_of_any_retryable_error() -> None:
    sleeps = Sleeps()
    assert (
        call(
            Attempts(http_error(503, retry_after=3.0), http_error(429, retry_after=7.0)),
            sleeps=sleeps,
        )
        == "ok"
    )
    assert sleeps == [3.0, 7.0]


def test_jitter_on_a_server_wait_is_tiny() -> None:
    sleeps = Sleeps()
    _retry.call_with_retries(
        Attempts(http_error(429, retry_after=2.0)),
        max_retries=1,
        rate_limiter=None,
        sleep=sleeps,
        rng=lambda: 1.0,
    )
    assert 2.0 < sleeps[0] <= 2.0 + _retry.SERVER_WAIT_JITTER


def test_a_reset_beyond_max_rate_limit_wait_raises_at_once_saying_when() -> None:
    # the daily free-tier quota: 50 per day, resets at midnight UTC
    reset = WALL + 3600
    body = {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded: free-models-per-day",
            "metadata": {
                "headers": {
                    "X-RateLimit-Limit": "50",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(reset * 1000)),
                }
            },
        }
    }
    original = errors.RateLimitError(
        "Rate limit exceeded: free-models-per-day", status_code=429, body=body
    )
    attempt, sleeps = Attempts(original), Sleeps()
    with pytest.raises(errors.RateLimitError) as raised:
        call(attempt, sleeps=sleeps, max_rate_limit_wait=60)
    assert attempt.calls == 1 and sleeps == []
    message = str(raised.value)
    expected_time = datetime.fromtimestamp(reset, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    assert f"resets at {expected_time} UTC (in 3600 s)" in message
    assert "max_rate_limit_wait=60" in message
    assert "BYOK" in message and "another model" in message
    assert raised.value.__cause__ is original
    assert raised.value.retry_after == pytest.approx(3600)
    assert raised.value.body == body and raised.value.status_code == 429


def test_a_long_retry_after_on_a_503_is_not_waited_for() -> None:
    error = http_error(503, retry_after=600)
    attempt = Attempts(error)
    with pytest.raises(errors.ServiceUnavailableError) as raised:
        call(attempt, max_rate_limit_wait=60)
    assert attempt.calls == 1 and raised.value is error


def test_the_limiter_is_acquired_before_every_attempt() -> None:
    limiter = CountingLimiter()
    with pytest.raises(errors.RateLimitError):
        call(Attempts(forever=http_error(429)), limiter=limiter, max_retries=3)
    assert limiter.acquired == 4


def test_an_attempt_the_caller_already_acquired_for_is_not_acquired_twice() -> None:
    limiter = CountingLimiter()
    call(Attempts(http_error(500)), limiter=limiter, first_attempt_acquired=True)
    assert limiter.acquired == 1  # only the retry


def test_an_adaptive_limiter_learns_from_each_attempt() -> None:
    limiter = RecordingLimiter(requests_per_minute=600)
    reset_ms = str(int((WALL + 2) * 1000))
    error = http_error(
        429,
        headers={
            "x-ratelimit-limit": "30",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": reset_ms,
        },
    )
    assert call(Attempts(error), limiter=limiter) == "ok"
    assert limiter.signals == [RateLimitSignal(limit=30, remaining=0, reset_in=2.0)]
    assert limiter.successes == 1
    assert limiter.window_budget is not None and limiter.window_budget.limit == 30


def test_other_failures_are_not_reported_as_rate_limits() -> None:
    limiter = RecordingLimiter()
    call(Attempts(http_error(502), errors.APIConnectionError("reset")), limiter=limiter)
    assert limiter.signals == [] and limiter.successes == 1


def test_a_stream_reports_its_success_itself() -> None:
    limiter = RecordingLimiter()
    call(Attempts(), limiter=limiter, report_success=False)
    assert limiter.successes == 0
    _retry.report_success(limiter)  # after the last chunk
    assert limiter.successes == 1
    _retry.report_success(CountingLimiter())  # a plain limiter has nothing to learn
    _retry.report_success(None)


def test_a_pause_longer_than_allowed_fails_before_sending() -> None:
    limiter = RecordingLimiter(max_pause=3600)
    limiter.acquire()
    limiter.record_rate_limited(RateLimitSignal(retry_after=600))
    attempt = Attempts()
    with pytest.raises(
        errors.RateLimitError, match=r"paused after a 429.*in 600 s.*max_rate_limit_wait=60"
    ):
        call(attempt, limiter=limiter, max_rate_limit_wait=60)
    assert attempt.calls == 0


def test_each_retry_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="langchain_openrouter_fenic.rate_limits.retry")
    call(Attempts(http_error(429), http_error(502)))
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert lines == [
        "OpenRouter answered 429; retry 1 of 2 in 0.50 s",
        "OpenRouter answered 502; retry 2 of 2 in 1.00 s",
    ]


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries=-1"):
        call(Attempts(), max_retries=-1)


# -- async --------------------------------------------------------------------------------
async def acall(attempt: Attempts, **options: Any) -> str:
    options.setdefault("max_retries", 2)
    options.setdefault("rate_limiter", None)
    return await _retry.acall_with_retries(
        attempt.acall, wall_clock=lambda: WALL, rng=lambda: 0.0, **options
    )


async def test_async_retries_wait_without_blocking_and_raise_the_last_error() -> None:
    sleeps, limiter = Sleeps(), CountingLimiter()
    attempt = Attempts(forever=http_error(529))
    with pytest.raises(errors.ProviderOverloadedError) as raised:
        await acall(attempt, async_sleep=sleeps.asleep, rate_limiter=limiter)
    assert attempt.calls == 3 and limiter.acquired == 3
    assert raised.value is attempt.raised[-1]
    assert sleeps == [0.5, 1.0]


async def test_async_not_retried_and_zero_retries() -> None:
    attempt = Attempts(http_error(401))
    with pytest.raises(errors.AuthenticationError):
        await acall(attempt, async_sleep=Sleeps().asleep)
    assert attempt.calls == 1
    attempt = Attempts(forever=http_error(429))
    with pytest.raises(errors.RateLimitError):
        await acall(attempt, max_retries=0, async_sleep=Sleeps().asleep)
    assert attempt.calls == 1


async def test_async_reset_beyond_the_limit_raises_at_once() -> None:
    attempt = Attempts(http_error(429, retry_after=7200))
    with pytest.raises(errors.RateLimitError, match="in 7200 s"):
        await acall(attempt, async_sleep=Sleeps().asleep)
    assert attempt.calls == 1


async def test_async_uses_the_event_loop_sleep_by_default() -> None:
    started = asyncio.get_running_loop().time()
    assert await acall(Attempts(http_error(429, retry_after=0.05))) == "ok"
    assert asyncio.get_running_loop().time() - started >= 0.05


def _cyclic_garbage_of(calls: Any) -> int:
    """Objects only the cyclic collector could free, left by ``calls()`` (collector paused)."""
    gc.collect()
    gc.disable()
    try:
        calls()
        return gc.collect()
    finally:
        gc.enable()


def test_calls_that_succeed_at_once_leave_no_cyclic_garbage() -> None:
    # tenacity's machinery left ~27 such objects a call: 100 calls well over 1,000. The margin
    # is for whatever another thread of the test process may drop meanwhile.
    def calls() -> None:
        for _ in range(100):
            assert call(Attempts()) == "ok"

    async def acalls() -> None:
        for _ in range(100):
            assert await acall(Attempts(), async_sleep=Sleeps().asleep) == "ok"

    assert _cyclic_garbage_of(calls) < 100
    assert _cyclic_garbage_of(lambda: asyncio.run(acalls())) < 100


def test_a_first_attempt_that_fails_is_tenacitys_first_attempt_not_sent_again() -> None:
    sleeps, limiter = Sleeps(), CountingLimiter()
    attempt = Attempts(http_error(503), http_error(503))
    assert call(attempt, sleeps=sleeps, limiter=limiter) == "ok"
    assert attempt.calls == 3 and limiter.acquired == 3
    assert sleeps == [0.5, 1.0]  # tenacity's backoff of attempts 1 and 2, as before
