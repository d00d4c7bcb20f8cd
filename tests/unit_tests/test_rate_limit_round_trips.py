"""A shared (Redis) limiter: the round trips of an acquire, and plan changes of other processes.

A caller that waited for its slot uses it as granted when its process had an answer from the
state, taken at or after the slot, that shows the grant's plan; else it confirms the slot first
(one more round trip). No slot another process voided is ever used.

Every test runs on a real redis-server in virtual time: the limiters' clock and the state's
"now" (the script's time argument, as the policy trace tests pass it) are one ``SteppedTime``.
Each "process" is a limiter with its own Redis state object and client, as a worker process
has. Callers are threads (or asyncio tasks) whose sleeps block until the test wakes them, one at
a time, earliest first (ties in the order they fell asleep), and only when every other caller
sleeps or is done and all feedback has been applied: the steps happen in one order whatever the
machine's load. No assertion depends on which of several callers started first reached Redis
first.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from langchain_openrouter_fenic import AdaptiveRateLimiter
from langchain_openrouter_fenic.rate_limits import redis_state
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal
from tests.support.redis_server import redis_client_module

redis_client_module()  # skipped without the client; under CI=true, failed

T0 = 1_788_825_000.0  # virtual instants near a real epoch (the script's day arithmetic)
ANSWER = 0.01  # virtual seconds from an admission to the server's answer
STUCK_AFTER = 30.0  # real seconds: a caller that never sleeps again is a bug (not a timing)
DECISIONS = ("acquire", "reacquire", "confirm")  # the round trips of acquires


@dataclass(order=True)
class _Sleeper:
    until: float
    seq: int
    woken: threading.Event = field(compare=False, default_factory=threading.Event)


class SteppedTime:
    """One virtual clock for every limiter of a test and for the Redis state they share."""

    def __init__(self) -> None:
        self.now = T0
        self._cond = threading.Condition()
        self._sleepers: list[_Sleeper] = []
        self._seq = itertools.count()
        self._running = 0  # callers not finished yet
        self._states: list[redis_state.RedisState] = []
        self.failures: list[BaseException] = []
        self.pool = ThreadPoolExecutor(32, thread_name_prefix="stepped-sleep")

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            sleeper = _Sleeper(self.now + max(0.0, seconds), next(self._seq))
            self._sleepers.append(sleeper)
            self._cond.notify_all()
        sleeper.woken.wait()
        with self._cond:
            self._sleepers.remove(sleeper)
            self._cond.notify_all()

    async def async_sleep(self, seconds: float) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, self.sleep, seconds)

    # -- the limiters of the test ----------------------------------------------------------
    def limiter(self, url: str, name: str, **options: Any) -> AdaptiveRateLimiter:
        # the confirmations, as without plan notifications (or while their subscription is not
        # live); the notifications themselves, in real time: test_rate_limit_plan_watch.py
        options.setdefault("redis_notifications", False)
        made = AdaptiveRateLimiter(
            redis_url=url,
            redis_name=name,
            clock=self,
            wall_clock=self,
            sleep=self.sleep,
            async_sleep=self.async_sleep,
            **options,
        )
        state = made._core.state
        assert isinstance(state, redis_state.RedisState)
        state._head[0] = repr(self.now)  # the script's "now": this clock, not server time
        self._states.append(state)
        return made

    # -- callers ---------------------------------------------------------------------------
    def start(self, *callers: Callable[[], object]) -> None:
        """Run each caller in a thread of its own, coroutine functions as tasks of one event
        loop (in one more thread); then wait until each sleeps or is done."""
        tasks = [c for c in callers if asyncio.iscoroutinefunction(c)]
        with self._cond:
            self._running += len(callers)
        for caller in callers:
            if caller not in tasks:
                threading.Thread(target=self._one, args=(caller,), daemon=True).start()
        if tasks:

            async def gathered() -> None:
                await asyncio.gather(*(self._one_task(task) for task in tasks))

            threading.Thread(target=asyncio.run, args=(gathered(),), daemon=True).start()
        self.settle()

    def _one(self, caller: Callable[[], object]) -> None:
        try:
            caller()
        except BaseException as exc:  # reported by ``finish``
            self.failures.append(exc)
        finally:
            self._done()

    async def _one_task(self, caller: Callable[[], Any]) -> None:
        try:
            await caller()
        except BaseException as exc:
            self.failures.append(exc)
        finally:
            self._done()

    def _done(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()

    def _settled(self) -> bool:
        asleep = [s for s in self._sleepers if not s.woken.is_set()]
        return len(asleep) == len(self._sleepers) == self._running

    def settle(self) -> None:
        """Until every caller sleeps or is done, and every report has been applied."""
        deadline = time.monotonic() + STUCK_AFTER
        while True:
            with self._cond:
                while not self._settled():
                    if not self._cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                        raise AssertionError("a caller neither finished nor slept")
            for state in self._states:
                state.drain()
            with self._cond:
                if self._settled():
                    return

    def _wake_next(self, before: float) -> bool:
        self.settle()  # reports the test itself made are applied first
        with self._cond:
            sleeper = min(self._sleepers, default=None)
            if sleeper is None or sleeper.until > before:
                return False
            self.now = max(self.now, sleeper.until)
            for state in self._states:
                state._head[0] = repr(self.now)
            sleeper.woken.set()
        self.settle()
        return True

    def run_until(self, instant: float) -> None:
        """Wake the sleepers in turn until ``instant``; then the clock shows ``instant``."""
        while self._wake_next(instant):
            pass
        with self._cond:
            self.now = max(self.now, instant)
            for state in self._states:
                state._head[0] = repr(self.now)

    def finish(self) -> None:
        """Wake the sleepers in turn until every caller is done."""
        while self._wake_next(float("inf")):
            pass
        assert self._running == 0
        if self.failures:
            raise self.failures[0]


@pytest.fixture
def name() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def steps() -> Iterator[SteppedTime]:
    clock = SteppedTime()
    yield clock
    clock.pool.shutdown(wait=False)


def count_decisions(limiter: AdaptiveRateLimiter) -> list[str]:
    """The script calls of this limiter's acquires (grants, re-asks, confirmations), by op."""
    state = limiter._core.state
    assert isinstance(state, redis_state.RedisState)
    ops: list[str] = []
    real_call = state._call

    def call(op: str, args: Any) -> Any:
        if op in DECISIONS:
            ops.append(op)
        return real_call(op, args)

    state._call = call  # type: ignore[method-assign]
    return ops


# 2 requests/s, and no increase (the ceiling): every slot is 0.5 s after the one before
PACE = {"requests_per_minute": 120, "max_requests_per_minute": 120, "reset_margin": 0.0}


def request(
    steps: SteppedTime, limiter: AdaptiveRateLimiter, admitted: list[float]
) -> Callable[[], None]:
    """A caller: its slot, the server's answer, the success reported."""

    def call() -> None:
        limiter.acquire()
        admitted.append(steps.now)
        steps.sleep(ANSWER)
        limiter.record_success()

    return call


def arequest(
    steps: SteppedTime, limiter: AdaptiveRateLimiter, admitted: list[float]
) -> Callable[[], Any]:
    async def call() -> None:
        await limiter.aacquire()
        admitted.append(steps.now)
        await steps.async_sleep(ANSWER)
        limiter.record_success()

    return call


@pytest.mark.parametrize("make", [request, arequest], ids=["threads", "asyncio"])
def test_callers_waiting_for_one_instant_confirm_once_per_process(
    redis_url: str, name: str, steps: SteppedTime, make: Any
) -> None:
    workers = [steps.limiter(redis_url, name) for _ in range(2)]
    other = steps.limiter(redis_url, name)
    # another process learns a window budget: nothing before the window opens 2 s on
    other.record_rate_limited(RateLimitSignal(limit=10, remaining=0, reset_in=2.0))
    steps.settle()
    ops = [count_decisions(worker) for worker in workers]
    admitted: list[float] = []
    steps.start(*(make(steps, w, admitted) for w in workers for _ in range(4)))
    steps.finish()
    # all eight waited for the window; in each process the first one whose slot came confirmed
    # it, and that answer (taken at the slot, the same plan) confirmed the three others
    assert len(admitted) == 8 and min(admitted) >= T0 + 1.5
    assert sorted(ops[0]) == sorted(ops[1]) == ["acquire"] * 4 + ["confirm"]


def test_an_answer_taken_before_the_slot_does_not_confirm_it(
    redis_url: str, name: str, steps: SteppedTime
) -> None:
    worker = steps.limiter(redis_url, name, **PACE)
    other = steps.limiter(redis_url, name, **PACE)
    ops = count_decisions(worker)
    assert worker.acquire(blocking=False)  # the next slot is 0.5 s away
    admitted: list[float] = []

    def looks_at(instant: float) -> Callable[[], None]:
        def call() -> None:  # another caller of the same process: one round trip then
            steps.sleep(instant - steps.now)
            assert worker.requests_per_minute > 0  # a peek at the state

        return call

    steps.start(looks_at(T0 + 0.4))  # heard 0.1 s before the slot: not after it (an answer
    # at or after it would confirm it: the test above)
    steps.start(request(steps, worker, admitted))  # sleeps until T0 + 0.5
    steps.run_until(T0 + 0.45)
    other.record_rate_limited(RateLimitSignal(retry_after=5.0))  # between the two
    steps.finish()
    # the slot came 0.05 s after the pause began: confirmed, found void, taken after the pause
    assert ops[:3] == ["acquire", "acquire", "confirm"]
    assert admitted and admitted[0] >= T0 + 4.0  # the pause ends 5 s on


def test_no_process_uses_a_slot_another_process_voided(
    redis_url: str, name: str, steps: SteppedTime
) -> None:
    workers = [steps.limiter(redis_url, name, **PACE) for _ in range(3)]
    other = steps.limiter(redis_url, name, **PACE)
    admitted: dict[int, list[float]] = {i: [] for i in range(len(workers))}
    steps.start(*(request(steps, w, admitted[i]) for i, w in enumerate(workers) for _ in "ab"))
    steps.run_until(T0 + 0.75)  # six slots granted, 0.5 s apart from T0; two used
    assert sum(len(times) for times in admitted.values()) == 2
    changed_at = steps.now
    other.record_rate_limited(RateLimitSignal(retry_after=30.0))  # a pause: a new plan
    steps.finish()
    everyone = sorted(t for times in admitted.values() for t in times)
    assert len(everyone) == 6
    # every caller whose slot came after the change waited for the end of the pause (30 s on,
    # less the real time it took to report it)
    assert everyone[:2] == pytest.approx([T0, T0 + 0.5], abs=1e-6)
    assert min(everyone[2:]) > changed_at + 25.0
