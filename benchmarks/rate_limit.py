"""Rate limiting against a loopback server with a hidden limit, every client in one run.

    .venv/bin/python benchmarks/rate_limit.py [--requests 300] [--latency 0] [--log]

Two hidden limits of R = 20 requests/second, served by the emulator in ``tests/support``:

- (a) an upstream provider's token bucket (``provider_bucket(rate=20)``): over it, a bare 429
  "Provider returned error" with no hint of when to retry. Burst: the emulator's default, one
  second of tokens (20), a realistic provider bucket; and burst=1 as the worst case (no slack:
  any two requests closer than 1/R apart trip it);
- (b) OpenRouter's own fixed windows (``window_budget(limit=100, window=5)``, R = 100 / 5 s): over
  it, a 429 with ``X-RateLimit-Limit/Remaining/Reset``. Each run starts at a window boundary.

Each client sends ``--requests`` requests through ``abatch(..., config={"max_concurrency": 32},
return_exceptions=True)``; a request that still fails is counted, never crashes the run:

- ``ChatOpenRouter`` defaults: the shared ``AdaptiveRateLimiter`` of a fresh key (R unknown to
  it), ``max_retries=2``;
- ``langchain_openai.ChatOpenAI`` (``base_url`` = the emulator) with the SDK's retries (its
  default ``max_retries``), no rate limiter;
- ``ChatOpenRouter`` with LangChain's ``InMemoryRateLimiter`` at exactly R and at 2R,
  ``max_retries=2``. It polls every ``check_every_n_seconds``; at its default (0.1 s) the 32
  waiters poll in lockstep and, with ``max_bucket_size=1``, at most one is admitted per poll:
  about 10 requests/s whatever the rate (measured: 60 requests at 20/s took 6.3 s). Polling every
  10 ms here lets it reach the rate it is given, so the comparison is about the rate.

Reported per run: goodput (successful requests per second of the batch's wall time, divided by
R), the share of HTTP attempts the server answered 429, failed requests, attempts, seconds.
A run is cut off after ``--run-timeout`` seconds (its unfinished requests count as failed), so
the whole benchmark stays bounded (about two and a half minutes). Ends with a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from langchain_core.language_models import BaseChatModel
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_openrouter_fenic import ChatOpenRouter
from tests.support.emulator import OpenRouterEmulator
from tests.support.emulator_limits import WindowBudget

RATE = 20.0  # R, requests per second, of every hidden limit
WINDOW = 5.0  # scenario (b): seconds per window
CONCURRENCY = 32
MODEL = "openai/gpt-4o-mini"
PROMPT = "Say OK."
IN_MEMORY_POLL = 0.01  # InMemoryRateLimiter(check_every_n_seconds=...): see the docstring


@dataclass(frozen=True)
class Scenario:
    """One hidden limit, installed fresh (full bucket, unused window) before each run."""

    label: str
    install: Callable[[OpenRouterEmulator], object]
    window: float | None = None  # fixed windows: start each run at a boundary


@dataclass(frozen=True)
class Client:
    label: str
    make: Callable[[str, str], BaseChatModel]  # (base_url, api_key) -> a fresh model


@dataclass(frozen=True)
class Outcome:
    scenario: str
    client: str
    successes: int
    failed: int
    attempts: int
    rate_limited: int
    seconds: float
    timed_out: bool
    per_window: tuple[int, ...] = ()  # fixed windows: the 429s of each window, in order

    @property
    def goodput(self) -> float:
        return self.successes / self.seconds / RATE if self.seconds > 0 else 0.0

    @property
    def share_429(self) -> float:
        return self.rate_limited / self.attempts if self.attempts else 0.0


def _scenarios() -> list[Scenario]:
    per_window = round(RATE * WINDOW)
    return [
        Scenario(
            f"(a) provider bucket R={RATE:g}/s, burst {RATE:g}",
            lambda emu: emu.provider_bucket(rate=RATE),
        ),
        Scenario(
            f"(b) OpenRouter windows {per_window} per {WINDOW:g} s",
            lambda emu: emu.window_budget(limit=per_window, window=WINDOW),
            window=WINDOW,
        ),
        Scenario(
            f"(a) worst case: burst 1, R={RATE:g}/s",
            lambda emu: emu.provider_bucket(rate=RATE, burst=1.0),
        ),
    ]


def _chat_openrouter(
    rate_limiter: InMemoryRateLimiter | None = None,
) -> Callable[[str, str], BaseChatModel]:
    def make(base_url: str, api_key: str) -> BaseChatModel:
        options: dict[str, Any] = {"model": MODEL, "api_key": api_key, "base_url": base_url}
        if rate_limiter is not None:
            options["rate_limiter"] = rate_limiter
        return ChatOpenRouter(**options)

    return make


def _chat_openai(base_url: str, api_key: str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    options: dict[str, Any] = {"model": MODEL, "api_key": api_key, "base_url": base_url}
    return ChatOpenAI(**options)  # max_retries unset: the SDK's default


def _in_memory(rate: float) -> Callable[[str, str], BaseChatModel]:
    def make(base_url: str, api_key: str) -> BaseChatModel:
        limiter = InMemoryRateLimiter(  # a fresh bucket per run
            requests_per_second=rate, check_every_n_seconds=IN_MEMORY_POLL
        )
        return _chat_openrouter(limiter)(base_url, api_key)

    return make


def _clients(worst_case: bool) -> list[Client]:
    ours = Client("ChatOpenRouter defaults (adaptive, R unknown)", _chat_openrouter())
    if worst_case:  # the worst-case line: ChatOpenRouter's defaults only (time budget)
        return [ours]
    return [
        ours,
        Client("ChatOpenAI + SDK retries", _chat_openai),
        Client(f"ChatOpenRouter + InMemoryRateLimiter({RATE:g}/s = R)", _in_memory(RATE)),
        Client(f"ChatOpenRouter + InMemoryRateLimiter({2 * RATE:g}/s = 2R)", _in_memory(2 * RATE)),
    ]


async def _wait_for_window_start(window: float) -> None:
    """Sleep until just after the next window boundary (the emulator aligns them to the epoch)."""
    now = time.time()
    await asyncio.sleep(math.ceil(now / window) * window - now + 0.01)


async def _run(
    emu: OpenRouterEmulator,
    scenario: Scenario,
    client: Client,
    requests: int,
    run_timeout: float,
) -> Outcome:
    model = client.make(emu.url, f"sk-or-v1-bench-{uuid.uuid4().hex}")  # fresh key: fresh limiter
    if scenario.window is not None:
        await _wait_for_window_start(scenario.window)
    emu.clear_limits()
    emu.reset()
    limit = scenario.install(emu)
    batch = model.abatch(
        [PROMPT] * requests, config={"max_concurrency": CONCURRENCY}, return_exceptions=True
    )
    start, start_wall = time.perf_counter(), time.time()
    timed_out = False
    try:
        results: list[Any] = await asyncio.wait_for(batch, timeout=run_timeout)
    except asyncio.TimeoutError:
        results, timed_out = [], True
    seconds = time.perf_counter() - start
    emu.clear_limits()
    stats = emu.stats()
    successes = sum(1 for r in results if not isinstance(r, BaseException))
    per_window: tuple[int, ...] = ()
    if isinstance(limit, WindowBudget):
        first = limit.window_of(start_wall)
        windows = math.ceil((time.time() - start_wall) / limit.window)
        per_window = tuple(limit.refusals_per_window(first, first + windows - 1))
    return Outcome(
        scenario=scenario.label,
        client=client.label,
        successes=successes,
        failed=requests - successes,
        attempts=stats.attempts,
        rate_limited=stats.rate_limited,
        seconds=seconds,
        timed_out=timed_out,
        per_window=per_window,
    )


async def _warm_up(emu: OpenRouterEmulator) -> None:
    """Lazy imports, the SDK and the catalog, on keys the measured runs never use."""
    for client in _clients(worst_case=False)[:2]:
        model = client.make(emu.url, f"sk-or-v1-warm-{uuid.uuid4().hex}")
        await model.abatch([PROMPT] * 4)


def _table(outcomes: list[Outcome]) -> str:
    lines = [
        "| scenario | client | goodput | 429 share of attempts | failed | attempts | seconds "
        "| 429s per window |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        cut = " (cut off)" if o.timed_out else ""
        lines.append(
            f"| {o.scenario} | {o.client} | {o.goodput:.2f} | {o.share_429:.1%} | "
            f"{o.failed}{cut} | {o.attempts} | {o.seconds:.1f} | "
            f"{' '.join(map(str, o.per_window)) or '-'} |"
        )
    return "\n".join(lines)


async def _main(requests: int, latency: float, run_timeout: float) -> list[Outcome]:
    outcomes: list[Outcome] = []
    with OpenRouterEmulator(latency=latency) as emu:
        await _warm_up(emu)
        scenarios = _scenarios()
        for index, scenario in enumerate(scenarios):
            for client in _clients(worst_case=index == len(scenarios) - 1):
                outcome = await _run(emu, scenario, client, requests, run_timeout)
                print(
                    f"{scenario.label} | {client.label}: goodput {outcome.goodput:.2f}, "
                    f"429s {outcome.share_429:.1%}, failed {outcome.failed}, "
                    f"{outcome.seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
                outcomes.append(outcome)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per run")
    parser.add_argument("--latency", type=float, default=0.0, help="server seconds per answer")
    parser.add_argument("--run-timeout", type=float, default=40.0, help="cut-off per run, s")
    parser.add_argument("--log", action="store_true", help="show the limiter's WARNING/INFO")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO if args.log else logging.ERROR, format="%(message)s")
    for noisy in ("httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    outcomes = asyncio.run(_main(args.requests, args.latency, args.run_timeout))
    print(
        f"\n{args.requests} requests per run, max_concurrency={CONCURRENCY}, R={RATE:g} req/s, "
        f"server latency {args.latency:g} s; goodput = successes per second / R.\n"
    )
    print(_table(outcomes))


if __name__ == "__main__":
    main()
