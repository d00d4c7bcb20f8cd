"""``rate_limits.waits``: while skipped, the limiter admits at once and retries do not sleep --
but every decision is still made (a 429 is still recorded, retried, logged, raised)."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from langchain_openrouter_fenic import errors
from langchain_openrouter_fenic.rate_limits import retry, waits
from langchain_openrouter_fenic.rate_limits.limiter import AdaptiveRateLimiter


class FakeTime:
    """A monotonic clock that moves only when slept on; records every sleep."""

    def __init__(self) -> None:
        self.now, self.sleeps = 100.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def _slow_limiter(time: FakeTime) -> AdaptiveRateLimiter:
    # 6 requests/min: slots 10 s apart
    return AdaptiveRateLimiter(
        requests_per_minute=6, min_requests_per_minute=6, clock=time.clock, sleep=time.sleep,
        async_sleep=time.asleep,
    )  # fmt: skip


def test_the_limiter_paces_normally() -> None:
    time = FakeTime()
    limiter = _slow_limiter(time)
    for _ in range(3):
        limiter.acquire()
    assert sum(time.sleeps) == pytest.approx(20.0)


def test_skipped_waits_admit_at_once_sync_and_async() -> None:
    time = FakeTime()
    limiter = _slow_limiter(time)
    with waits.skipped():
        assert all(limiter.acquire() for _ in range(3))
        assert limiter.acquire(blocking=False)
    assert time.sleeps == []
    assert not waits.are_skipped()


async def test_skipped_waits_admit_at_once_async() -> None:
    time = FakeTime()
    limiter = _slow_limiter(time)
    with waits.skipped():
        for _ in range(3):
            assert await limiter.aacquire()
    assert time.sleeps == []


def test_skipping_is_process_wide_and_nests() -> None:
    seen: list[bool] = []
    with waits.skipped():
        with waits.skipped():
            pass
        thread = threading.Thread(target=lambda: seen.append(waits.are_skipped()))
        thread.start()
        thread.join()
        assert waits.are_skipped()
    assert seen == [True]
    assert not waits.are_skipped()


def _rate_limited() -> errors.RateLimitError:
    return errors.RateLimitError(
        "HTTP 429", status_code=429, headers={"retry-after": "30"}, retry_after=30.0
    )


def test_a_429_is_still_retried_and_logged_but_not_slept(caplog: pytest.LogCaptureFixture) -> None:
    time = FakeTime()
    limiter = _slow_limiter(time)
    failures = [_rate_limited()]

    def attempt() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    with waits.skipped(), caplog.at_level(logging.DEBUG, logger="langchain_openrouter_fenic"):
        result = retry.call_with_retries(
            attempt, max_retries=2, rate_limiter=limiter, sleep=time.sleep
        )
    assert result == "ok"
    assert time.sleeps == []
    assert limiter.requests_per_minute < 6.0 or limiter.cooldown_remaining() > 0  # it learnt
    assert any("answered 429; retry 1 of 2 in 30." in r.getMessage() for r in caplog.records)


async def test_async_retries_do_not_sleep_either() -> None:
    time = FakeTime()
    failures = [_rate_limited()]

    async def attempt() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    with waits.skipped():
        result = await retry.acall_with_retries(
            attempt, max_retries=1, rate_limiter=None, async_sleep=time.asleep
        )
    assert result == "ok" and time.sleeps == []


def test_without_the_switch_the_retry_sleeps_the_server_wait() -> None:
    time = FakeTime()
    failures = [_rate_limited()]

    def attempt() -> str:
        if failures:
            raise failures.pop()
        return "ok"

    retry.call_with_retries(attempt, max_retries=1, rate_limiter=None, sleep=time.sleep)
    assert len(time.sleeps) == 1 and 30.0 <= time.sleeps[0] <= 30.2


def test_a_wait_too_long_to_honour_still_raises_while_skipped() -> None:
    failures = [_rate_limited()]

    def attempt() -> str:
        raise failures[0]

    with waits.skipped(), pytest.raises(errors.RateLimitError, match="max_rate_limit_wait"):
        retry.call_with_retries(attempt, max_retries=2, rate_limiter=None, max_rate_limit_wait=5.0)


def test_a_replay_reads_an_answer_against_its_own_date() -> None:
    headers = {"Date": "Mon, 30 Nov 2026 10:00:00 GMT", "x-ratelimit-reset": "1796033100000"}
    now = 1_796_043_600.0  # three hours later
    assert waits.answer_time(headers, now) == now  # live: the real now
    with waits.skipped():
        assert waits.answer_time(headers, now) == 1_796_032_800.0
        assert waits.answer_time({"date": "not a date"}, now) == now
        assert waits.answer_time(None, now) == now


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_keeps_replaying_with_fresh_locks() -> None:
    """A worker forked by a replayed test replays too: the switch and the catalog tap are
    inherited, and their locks are new in the child (a lock held at the fork would hang it)."""
    from langchain_openrouter_fenic.catalog import tap

    class Tap:
        def get(self, base_url: str, path: str, fetch: object) -> object: ...
        async def aget(self, base_url: str, path: str, fetch: object) -> object: ...
        def found(self, model_id: str) -> None: ...

    with waits.skipped(), tap.tapped(Tap()):  # type: ignore[arg-type]
        waits._lock.acquire()  # held by this thread at the fork
        try:
            pid = os.fork()
            if pid == 0:  # the child: exit 0 only if it replays and its lock is usable
                ok = waits.are_skipped() and tap.installed() is not None
                with waits.skipped():
                    pass
                os._exit(0 if ok else 1)
        finally:
            waits._lock.release()
        for _ in range(200):  # a child hung on an inherited lock would never exit: 10 s
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            threading.Event().wait(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung on a lock held at the fork")
    assert os.waitstatus_to_exitcode(status) == 0
