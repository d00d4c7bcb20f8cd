"""Plan notifications: a shared limiter's waiters learn of other processes' plan changes from
Redis (pub/sub), so a slot that was waited for is used without a second round trip.

Real time, a real redis-server, two limiters on one shared state standing for two processes.
Every wait in these tests is for a condition (bounded by ``PATIENCE`` real seconds), never a
duration that must be met; the paces are slow enough that a loaded machine changes nothing.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from langchain_openrouter_fenic import AdaptiveRateLimiter
from langchain_openrouter_fenic.errors import RateLimitError
from langchain_openrouter_fenic.rate_limits import redis_state
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal
from tests.support.redis_server import redis_client_module

redis = redis_client_module()  # skipped without the client; under CI=true, failed

PATIENCE = 10.0  # real seconds for a condition to come true (it normally takes milliseconds)


def _until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {PATIENCE} s: {what}")
        time.sleep(0.01)


def _state(limiter: AdaptiveRateLimiter) -> redis_state.RedisState:
    state = limiter._core.state
    assert isinstance(state, redis_state.RedisState)
    return state


def _decisions(limiter: AdaptiveRateLimiter) -> list[str]:
    """The round trips of acquires this limiter makes from now on, in order."""
    state = _state(limiter)
    ops: list[str] = []
    real_call = state._call

    def call(op: str, args: Any) -> Any:
        if op in ("acquire", "reacquire", "confirm"):
            ops.append(op)
        return real_call(op, args)

    state._call = call  # type: ignore[method-assign]
    return ops


def _paced(redis_url: str, name: str, per_minute: float, **options: Any) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(per_minute, redis_url=redis_url, redis_name=name, **options)


def _subscribed(limiter: AdaptiveRateLimiter) -> int:
    """Start the plan subscription and wait until it is live; its token."""
    state = _state(limiter)
    state.watch_token(start=True)
    _until(lambda: state.watch_token() is not None, "the plan subscription is live")
    token = state.watch_token()
    assert token is not None
    return token


def test_waited_slots_are_used_without_a_second_round_trip(redis_url: str) -> None:
    name = f"watch-{uuid.uuid4().hex}"
    with_watch = _paced(redis_url, name, 1200)  # a slot every 50 ms
    without = _paced(redis_url, f"{name}-off", 1200, redis_notifications=False)
    _subscribed(with_watch)
    for limiter in (with_watch, without):
        ops = _decisions(limiter)
        for _ in range(6):
            limiter.acquire()
        assert ops.count("acquire") == 6
        if limiter is with_watch:
            assert ops == ["acquire"] * 6  # one round trip each
        else:
            assert ops.count("confirm") >= 4  # each waited-for slot, asked again


def test_a_waiter_is_woken_by_another_process_s_pause_and_asks_again(redis_url: str) -> None:
    name = f"watch-{uuid.uuid4().hex}"
    here = _paced(redis_url, name, 6, max_wait=30)  # a slot every 10 s
    there = _paced(redis_url, name, 6)
    _subscribed(here)
    here.acquire()  # the next slot is 10 s away
    ops = _decisions(here)
    outcome: list[BaseException | None] = []

    def wait_for_slot() -> None:
        try:
            here.acquire()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait_for_slot)
    waiter.start()
    _until(lambda: ops == ["acquire"], "the waiter holds its slot")
    there.record_rate_limited(RateLimitSignal(retry_after=50.0))  # another process: a pause
    # pushed to this process: the waiter asks again at once (not in 10 s), and the pause is
    # longer than it may wait
    waiter.join(timeout=PATIENCE)
    assert not waiter.is_alive()
    assert ops == ["acquire", "reacquire"], outcome
    assert isinstance(outcome[0], RateLimitError)


def test_a_subscription_that_was_lost_meanwhile_means_the_slot_is_confirmed(
    redis_url: str,
) -> None:
    name = f"watch-{uuid.uuid4().hex}"
    here = _paced(redis_url, name, 20)  # a slot every 3 s
    token = _subscribed(here)
    here.acquire()
    ops = _decisions(here)
    waiter = threading.Thread(target=here.acquire)
    waiter.start()
    _until(lambda: ops == ["acquire"], "the waiter holds its slot")
    client = redis.Redis.from_url(redis_url)
    try:
        client.client_kill_filter(_type="pubsub")  # its subscription is cut
    finally:
        client.close()
    state = _state(here)
    # reconnected (a new token) or not yet (none): either way not the one it waited under
    _until(lambda: state.watch_token() != token, "the subscription was lost")
    waiter.join(timeout=PATIENCE)
    assert not waiter.is_alive()
    assert ops == ["acquire", "confirm"]


def test_the_subscription_ends_with_its_limiter_and_a_forked_child_starts_its_own(
    redis_url: str,
) -> None:
    name = f"watch-{uuid.uuid4().hex}"
    limiter = _paced(redis_url, name, 1200)
    _subscribed(limiter)
    watch = _state(limiter)._watch.get()
    assert watch is not None and watch._thread is not None
    thread = watch._thread

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no subscription inherited, its own once paced waits begin
        try:
            state = _state(limiter)
            inherited = state.watch_token()
            for _ in range(3):
                limiter.acquire()
            deadline = time.monotonic() + PATIENCE
            while state.watch_token() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(write, f"{inherited} {state.watch_token() is not None}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == "None True"

    del limiter, watch
    gc.collect()
    thread.join(timeout=PATIENCE)
    assert not thread.is_alive()


@pytest.mark.parametrize("notifications", [True, False])
def test_no_pace_no_subscription(redis_url: str, notifications: bool) -> None:
    # an unpaced limiter never waits: it needs no subscription (no thread, no connection)
    limiter = AdaptiveRateLimiter(
        redis_url=redis_url,
        redis_name=f"watch-{uuid.uuid4().hex}",
        redis_notifications=notifications,
    )
    for _ in range(20):
        limiter.acquire()
    watch = _state(limiter)._watch.get()
    assert watch is None or watch._thread is None
