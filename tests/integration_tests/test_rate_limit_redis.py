"""Limiter state shared through a real redis-server: one set of limits for every worker.

Each "worker" here is an ``AdaptiveRateLimiter`` with its own Redis state object and client,
as a separate process would have; the fork test uses real processes. Fault drills start a
redis-server of their own and break it: down, paused (SIGSTOP), slow (DEBUG SLEEP), restarted
(NOSCRIPT, state rebuilt), FLUSHALL, maxclients. "Within the socket timeout" is checked with a
margin for a loaded machine (the timeout is 0.1 s; a hang would take seconds or forever).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langchain_openrouter_fenic import AdaptiveRateLimiter, ChatOpenRouter, errors
from langchain_openrouter_fenic.rate_limits import policy, redis_state
from langchain_openrouter_fenic.rate_limits.shared import REDIS_URL_ENV, shared_rate_limiter
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.redis_server import RedisServer, redis_client_module

redis_client_module()  # skipped without the client; under CI=true, failed

LOGGER = "langchain_openrouter_fenic.rate_limits.redis_state"
FALLBACK_WITHIN = 1.0  # seconds: the 0.1 s socket timeout plus room for a loaded machine


def worker(url: str, name: str, **options: Any) -> AdaptiveRateLimiter:
    """One worker's limiter: its own Redis client, the shared state of ``name``."""
    return AdaptiveRateLimiter(redis_url=url, redis_name=name, **options)


def settle(*limiters: AdaptiveRateLimiter) -> None:
    """Feedback is sent by worker threads: wait until it has been applied."""
    for limiter in limiters:
        state = limiter._core.state
        if isinstance(state, redis_state.RedisState):
            state.drain()


@pytest.fixture
def name() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def drill_server() -> Iterator[RedisServer]:
    """A redis-server this test may break."""
    with RedisServer("--enable-debug-command", "yes") as server:
        yield server


# -- one state for every worker --------------------------------------------------------------
def test_workers_share_pauses_decreases_and_budgets(redis_url: str, name: str) -> None:
    a, b = worker(redis_url, name), worker(redis_url, name)
    assert a.shared and b.shared
    assert a.acquire(blocking=False) and b.acquire(blocking=False)  # free: nothing limits
    a.record_rate_limited(RateLimitSignal(retry_after=10.0))
    settle(a, b)
    assert 5.0 < b.cooldown_remaining() <= 10.1  # a's 429 pauses b (slack for a loaded machine)
    assert not b.acquire(blocking=False)
    c = worker(redis_url, f"{name}-other")  # another name: other limits
    assert c.acquire(blocking=False)


def test_one_decrease_per_burst_however_many_workers_see_it(redis_url: str, name: str) -> None:
    workers = [worker(redis_url, name) for _ in range(8)]
    admitted = threading.Barrier(len(workers))

    def send(limiter: AdaptiveRateLimiter) -> None:
        assert limiter.acquire(blocking=False)  # each admitted a request before the burst
        admitted.wait(5)
        limiter.record_rate_limited()  # ... and each sees it answered 429

    threads = [threading.Thread(target=send, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    settle(*workers)
    client = _client(redis_url)
    state = _state(client, name)
    assert state["epoch"] == 1  # one throttling event
    rates = {w.requests_per_minute for w in workers}
    assert len(rates) == 1 and rates != {float("inf")}


def test_a_pause_from_another_worker_holds_the_slots_already_granted_here(
    redis_url: str, name: str
) -> None:
    a, b = worker(redis_url, name, requests_per_minute=30), worker(redis_url, name)
    assert a.acquire(blocking=False)  # paced at 0.5/s: the next slot is 2 s away
    admitted_at: list[float] = []
    waiter = threading.Thread(target=lambda: (a.acquire(), admitted_at.append(time.monotonic())))
    waiter.start()
    time.sleep(0.2)  # a's caller sleeps on its slot; b knows nothing of it
    paused_at = time.monotonic()
    b.record_rate_limited(RateLimitSignal(retry_after=3.0))
    settle(b)
    waiter.join(10)
    # a's slot came during b's pause: confirmed when it came, found void, and taken again
    assert admitted_at and admitted_at[0] - paused_at >= 2.9


def test_a_cooldown_deadline_only_grows(redis_url: str, name: str) -> None:
    a, b = worker(redis_url, name), worker(redis_url, name)
    a.record_rate_limited(RateLimitSignal(retry_after=3.0))
    settle(a)
    b.record_rate_limited(RateLimitSignal(retry_after=1.0))  # an earlier deadline, later
    settle(a, b)
    assert a.cooldown_remaining() > 2.5 and b.cooldown_remaining() > 2.5


def _commands(server: RedisServer, run: Callable[[], object]) -> dict[str, int]:
    """The commands the server runs for ``run()`` (those a script calls included), by name."""
    client = server.client()
    try:
        client.config_resetstat()
        run()
        stats = client.info("commandstats")
    finally:
        client.close()
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    return {k: v for k, v in calls.items() if k.split("|")[0] not in ("info", "config", "hello")}


def test_an_acquire_is_one_round_trip_sync_and_async(drill_server: RedisServer, name: str) -> None:
    limiter = worker(drill_server.url, name)
    assert limiter.acquire()  # connects and loads the script
    state = limiter._core.state
    assert isinstance(state, redis_state.RedisState)

    def acquires() -> None:
        for _ in range(30):
            assert limiter.acquire()
        for _ in range(20):
            assert asyncio.run(limiter.aacquire())

    sha = redis_state_script_sha()
    raw = drill_server.client()
    args = ["acquire", "", redis_state.KEY_TTL_MS, *state.tuning.as_args(), -1.0]

    def scripts() -> None:  # the bare decision, one EVALSHA each, from another client
        for _ in range(50):
            raw.evalsha(sha, 1, state.key, *args)

    by_limiter = _commands(drill_server, acquires)
    assert by_limiter["evalsha"] == 50
    assert by_limiter == _commands(drill_server, scripts)  # nothing but the script's own
    raw.close()


async def test_waiting_callers_sleep_in_the_process_holding_no_connection(
    redis_url: str, name: str
) -> None:
    limiter = worker(redis_url, name)
    limiter.record_rate_limited(RateLimitSignal(retry_after=30.0))
    settle(limiter)
    waiting = [asyncio.ensure_future(limiter.aacquire()) for _ in range(8)]
    try:
        while len(limiter._core.waiters.get()) < 8:  # each took its slot, 30 s away
            await asyncio.sleep(0.01)
        state = limiter._core.state
        assert isinstance(state, redis_state.RedisState)
        pool = state._connection.get()._client.connection_pool
        assert len(pool._in_use_connections) == 0  # none held while they sleep
        assert not any(task.done() for task in waiting)
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        settle(limiter)  # their slots given back before the next test empties Redis


def test_one_hash_per_account_and_scope_with_a_ttl_and_no_key(redis_url: str) -> None:
    secret = "sk-or-v1-" + uuid.uuid4().hex
    os.environ[REDIS_URL_ENV] = redis_url
    try:
        paid = shared_rate_limiter(secret, "https://openrouter.ai/api/v1")
        free = shared_rate_limiter(secret, "https://openrouter.ai/api/v1", scope="free")
    finally:
        del os.environ[REDIS_URL_ENV]
    paid.acquire()
    free.acquire()
    client = _client(redis_url)
    keys = sorted(client.keys("langchain-openrouter-fenic:rate-limit:*"))
    assert len(keys) == 2
    tags = {k.split("{")[1].split("}")[0] for k in keys}
    assert len(tags) == 1  # one account: one Cluster hash tag, both scopes in its slot
    assert [k.rsplit(":", 1)[1] for k in keys] == ["default", "free"]
    for key in keys:
        assert secret not in key
        assert 0 < client.pttl(key) <= redis_state.KEY_TTL_MS
        assert set(client.hgetall(key)) == set(policy.FIELDS)
    free_state = client.hgetall(next(k for k in keys if k.endswith(":free")))
    assert float(free_state["b_lim"]) == 20  # :free starts from the published 20 per minute
    assert float(free_state["d_lim"]) == 1000


def test_decisions_use_redis_server_time(redis_url: str, name: str) -> None:
    # a worker whose wall clock is a day off still sees the pause end when Redis says so
    skewed = worker(redis_url, name, wall_clock=lambda: time.time() + 86400)
    skewed.record_rate_limited(RateLimitSignal(retry_after=10.0))
    settle(skewed)
    assert 5.0 < skewed.cooldown_remaining() <= 10.1
    server_now = float(_client(redis_url).time()[0])
    assert abs(float(_state(_client(redis_url), name)["last429"]) - server_now) < 5


async def test_async_callers_share_the_state_without_blocking_the_loop(
    redis_url: str, name: str
) -> None:
    a = worker(redis_url, name, reset_margin=0.0)
    a.record_rate_limited(RateLimitSignal(limit=10, remaining=0, reset_in=0.3))  # a window
    settle(a)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    started = time.monotonic()
    await asyncio.gather(*(worker(redis_url, name).aacquire() for _ in range(5)))
    task.cancel()
    assert 0.2 <= time.monotonic() - started < 2  # everyone waited for the shared reset
    assert ticks >= 10  # the loop kept running meanwhile


def test_the_environment_variable_turns_it_on_for_chatopenrouter(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, emulator: OpenRouterEmulator
) -> None:
    monkeypatch.setenv(REDIS_URL_ENV, redis_url)
    key = f"sk-or-v1-env-{uuid.uuid4().hex}"
    llm = ChatOpenRouter(model="openai/gpt-4o-mini", api_key=key, base_url=emulator.url)
    limiter = llm.rate_limiter
    assert isinstance(limiter, AdaptiveRateLimiter) and limiter.shared
    reset_ms = int((time.time() + 2) * 1000)
    emulator.enqueue(Reply.rate_limited(limit=20, remaining=0, reset_ms=reset_ms))
    assert llm.invoke("hi").content  # waited for the reset, then answered
    client = _client(redis_url)
    (hash_key,) = client.keys("langchain-openrouter-fenic:rate-limit:*")
    assert float(client.hget(hash_key, "b_lim")) == 20  # the budget lives in Redis
    assert key not in hash_key


def test_without_the_redis_client_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "redis" else real(n, *a)
    )
    with pytest.raises(ImportError, match=r"langchain-openrouter-fenic\[redis\]"):
        AdaptiveRateLimiter(redis_url="redis://127.0.0.1:1/0")


# -- faults never hang a request -------------------------------------------------------------
def _timed_acquire(limiter: AdaptiveRateLimiter) -> float:
    started = time.monotonic()
    assert limiter.acquire()
    return time.monotonic() - started


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= 30]


def _infos(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == 20]


def _wait_until_shared(limiter: AdaptiveRateLimiter, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        limiter.acquire()  # one caller probes when the breaker says so
        if limiter.shared:
            return
        time.sleep(0.05)
    raise AssertionError("the limiter never went back to Redis")


def test_redis_down_falls_back_at_once_with_one_warning(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    limiter = worker(f"redis://127.0.0.1:{port}/0", name)
    for _ in range(20):
        assert _timed_acquire(limiter) < FALLBACK_WITHIN
    assert not limiter.shared
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "in this process" in warnings[0]
    assert f"127.0.0.1:{port}/0" in warnings[0]


def test_a_paused_redis_falls_back_within_the_timeout_then_comes_back(
    drill_server: RedisServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter = worker(drill_server.url, name)
    assert _timed_acquire(limiter) < FALLBACK_WITHIN and limiter.shared
    state = limiter._core.state
    assert isinstance(state, redis_state.RedisState)
    client = state._connection.get()._client
    # the bound itself (the timing below has room for a loaded machine): 100 ms, no retries
    options = client.connection_pool.connection_kwargs
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.1
    assert client.get_retry()._retries == 0
    drill_server.pause()  # kill -STOP: connections open, nobody answers
    try:
        threads = [threading.Thread(target=_timed_acquire, args=(limiter,)) for _ in range(8)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert time.monotonic() - started < FALLBACK_WITHIN
        assert not limiter.shared
    finally:
        drill_server.resume()
    _wait_until_shared(limiter)
    assert len(_warnings(caplog)) == 1
    assert len(_infos(caplog)) == 1 and "answers again" in _infos(caplog)[0]


def test_a_slow_redis_falls_back_within_the_timeout(
    drill_server: RedisServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter = worker(drill_server.url, name)
    limiter.acquire()
    client = drill_server.client()
    sleeper = threading.Thread(target=lambda: client.execute_command("DEBUG", "SLEEP", "0.6"))
    sleeper.start()
    time.sleep(0.05)
    try:
        assert _timed_acquire(limiter) < FALLBACK_WITHIN
        assert not limiter.shared
    finally:
        sleeper.join(5)
    _wait_until_shared(limiter)
    assert len(_warnings(caplog)) == 1 and "TimeoutError" in _warnings(caplog)[0]
    assert len(_infos(caplog)) == 1


def test_a_restarted_redis_gets_the_script_again_and_the_state_rebuilt(
    drill_server: RedisServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter = worker(drill_server.url, name)
    limiter.record_rate_limited(RateLimitSignal(retry_after=0.2))
    settle(limiter)
    drill_server.restart()  # state and loaded scripts gone; old connections broken
    assert drill_server.client().script_exists(redis_state_script_sha()) == [False]
    assert _timed_acquire(limiter) < FALLBACK_WITHIN + 0.3
    _wait_until_shared(limiter)  # NOSCRIPT answered by loading it again
    client = drill_server.client()
    (key,) = client.keys("*")
    assert set(client.hgetall(key)) == set(policy.FIELDS)  # rebuilt by the next decision
    # back before the next call: the dead connection is replaced, no fault to report; the
    # state was lost, and one line says so
    assert _warnings(caplog) == []
    (info,) = _infos(caplog)
    assert "starts afresh" in info


def test_flushall_rebuilds_the_state_without_a_fault(
    drill_server: RedisServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter = worker(drill_server.url, name)
    limiter.record_rate_limited(RateLimitSignal(retry_after=30))
    settle(limiter)
    assert limiter.cooldown_remaining() > 20
    drill_server.client().flushall()
    assert limiter.cooldown_remaining() == 0.0 and limiter.shared  # a fresh state
    assert limiter.acquire(blocking=False)
    assert _warnings(caplog) == []  # no fault
    (info,) = _infos(caplog)  # but one line says the state was lost
    assert "starts afresh" in info and drill_server.url.split("//")[1] in info


def test_maxclients_reached_falls_back(name: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    with RedisServer("--maxclients", "1") as server:
        holder = server.client()
        holder.ping()  # the only client slot
        limiter = worker(server.url, name)
        assert _timed_acquire(limiter) < FALLBACK_WITHIN
        assert not limiter.shared
        holder.close()
        _wait_until_shared(limiter)
    (warning,) = _warnings(caplog)
    assert "max number of clients" in warning
    assert len(_infos(caplog)) == 1


def test_a_limiter_made_before_fork_works_in_the_child_and_shares_state(
    redis_url: str, name: str
) -> None:
    shared = worker(redis_url, name)
    local = AdaptiveRateLimiter(requests_per_minute=600)
    shared.acquire()
    local.acquire()
    holder = threading.Thread(target=lambda: local.acquire())  # a waiting thread at the fork
    holder.start()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own connections, fresh locks, the same shared state
        try:
            ok = shared.acquire() and local.acquire()
            shared.record_rate_limited(RateLimitSignal(retry_after=5.0))
            settle(shared)
            report = {"ok": ok, "shared": shared.shared}
        except BaseException as exc:  # reported to the parent
            report = {"ok": False, "error": repr(exc)}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    holder.join(5)
    assert report == {"ok": True, "shared": True}
    assert shared.cooldown_remaining() > 4  # the child's 429 paused the parent


def test_a_refused_wait_on_shared_state_raises_at_once(redis_url: str, name: str) -> None:
    a, b = worker(redis_url, name), worker(redis_url, name, max_wait=1.0)
    a.record_rate_limited(RateLimitSignal(retry_after=20))
    settle(a)
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError, match="no request was sent"):
        b.acquire()
    assert time.monotonic() - started < FALLBACK_WITHIN


def _client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, decode_responses=True)


def _state(client: Any, name: str) -> dict[str, float]:
    key = redis_state.redis_key(name, "default")
    return {k: float(v) for k, v in client.hgetall(key).items()}


def redis_state_script_sha() -> str:
    import hashlib

    from langchain_openrouter_fenic.rate_limits.redis_scripts import SCRIPT

    return hashlib.sha1(SCRIPT.encode()).hexdigest()
