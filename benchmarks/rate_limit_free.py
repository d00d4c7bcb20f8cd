"""What the default rate limiter costs when nothing limits: a fresh process, an unlimited server.

    .venv/bin/python benchmarks/rate_limit_free.py [--requests 1100] [--concurrency 64]

The loopback emulator runs in a process of its own (no hidden limit). Every measurement runs in
a fresh interpreter (a fresh limiter, as a new worker has), clients interleaved round by round:

- ``raw SDK``: ``openai.AsyncOpenAI`` / ``openai.OpenAI`` ``chat.completions.create``;
- ``langchain-core floor``: the smallest ``BaseChatModel`` there is, its ``_agenerate`` /
  ``_generate`` one raw SDK call and an ``AIMessage`` of the text (with a pass-through limiter):
  what langchain-core's own ``invoke`` machinery costs, which no chat model can avoid;
- ``ChatOpenRouter, no limiter``: a pass-through ``BaseRateLimiter`` (the chat model's own cost);
- ``ChatOpenRouter defaults``: the shared ``AdaptiveRateLimiter`` of a fresh key.

Each child sends ``--requests`` ``ainvoke`` / ``create`` calls ``--concurrency`` at a time, then
300 sequential calls; it reports the batch's wall time and the CPU time the client process spent
on it (``time.process_time``: user + system, all threads), when its first 100 answers were in, the
acquire time of the second sequential call, the sequential loop's wall and CPU time and how many
limiter decisions (slot reservations) were made per request. The catalog is loaded before timing,
on another key.

Reported: medians over ``--repeats`` rounds, and the ratios that answer the two questions, each
taken within a round (the clients of one round ran back to back) and then summarised over the
rounds as median [lower quartile - upper quartile] (min - max):

- the chat model's own cost: ``no limiter / raw SDK``;
- the limiter's cost: ``defaults / no limiter``;
- the target of issue 13 (<= 1.05x): ``defaults / raw SDK``.

CPU time is the steadier measure on a shared machine: another engineer's suite slows the wall
clock of a round, much less the CPU a round needs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODEL = "openai/gpt-4o-mini"
PROMPT = "Say OK."
SEQUENTIAL = 300
CLIENTS = [
    "raw SDK",
    "langchain-core floor",
    "ChatOpenRouter, no limiter",
    "ChatOpenRouter defaults",
]
ORDERS = [list(order) for order in itertools.permutations(CLIENTS)]  # each in turn, by round


def _child(client: str, url: str, requests: int, concurrency: int) -> dict[str, float]:
    from langchain_core.rate_limiters import BaseRateLimiter

    from langchain_openrouter_fenic import ChatOpenRouter
    from langchain_openrouter_fenic.rate_limits import local_state

    class PassThrough(BaseRateLimiter):
        def acquire(self, *, blocking: bool = True) -> bool:
            return True

        async def aacquire(self, *, blocking: bool = True) -> bool:
            return True

    decisions = 0
    real_acquire = local_state.LocalState.acquire

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal decisions
        decisions += 1
        return real_acquire(self, *args, **kwargs)

    local_state.LocalState.acquire = counted  # type: ignore[method-assign]
    ChatOpenRouter(model=MODEL, api_key=f"sk-or-v1-warm-{uuid.uuid4().hex}", base_url=url)
    key = f"sk-or-v1-free-{uuid.uuid4().hex}"
    messages = [{"role": "user", "content": PROMPT}]
    if client == "raw SDK":
        import openai

        aclient = openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=2)
        sclient = openai.OpenAI(api_key=key, base_url=url, max_retries=2)

        async def one() -> None:
            await aclient.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]

        def sync_one() -> None:
            sclient.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]

        acquire_seconds = 0.0
    elif client == "langchain-core floor":
        floor = _floor_model(key, url, PassThrough())

        async def one() -> None:
            await floor.ainvoke(PROMPT)

        def sync_one() -> None:
            floor.invoke(PROMPT)

        acquire_seconds = 0.0
    else:
        options: dict[str, Any] = {"model": MODEL, "api_key": key, "base_url": url}
        if client == "ChatOpenRouter, no limiter":
            options["rate_limiter"] = PassThrough()
        llm = ChatOpenRouter(**options)
        llm.model_info()  # the catalog, from the warm-up's disk copy or loopback

        async def one() -> None:
            await llm.ainvoke(PROMPT)

        def sync_one() -> None:
            llm.invoke(PROMPT)

        acquire_seconds = 0.0

    async def batch() -> tuple[float, float, float]:
        gate = asyncio.Semaphore(concurrency)
        done: list[float] = []
        start, cpu_start = time.perf_counter(), time.process_time()

        async def guarded() -> None:
            async with gate:
                await one()
            done.append(time.perf_counter() - start)

        await asyncio.gather(*(guarded() for _ in range(requests)))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        return wall, cpu, sorted(done)[min(99, len(done) - 1)]

    decisions = 0
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    total, total_cpu, first_100 = asyncio.run(batch())
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    per_request = decisions / requests
    sync_one()  # the first sequential call of the process's sync path
    if client.startswith("ChatOpenRouter"):
        limiter = llm.rate_limiter
        assert limiter is not None
        started = time.perf_counter()
        limiter.acquire()  # what the second sequential call waits for before sending
        acquire_seconds = time.perf_counter() - started
        limiter_record = getattr(limiter, "record_success", None)
        if limiter_record is not None:
            limiter_record()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(SEQUENTIAL):
        sync_one()
    sequential = time.perf_counter() - start
    sequential_cpu = time.process_time() - cpu_start
    return {
        "total": total,
        "total_cpu": total_cpu,
        "user_cpu": usage_after.ru_utime - usage_before.ru_utime,
        "system_cpu": usage_after.ru_stime - usage_before.ru_stime,
        "first_100": first_100,
        "second_call_acquire_ms": acquire_seconds * 1000,
        "sequential": sequential,
        "sequential_cpu": sequential_cpu,
        "decisions_per_request": per_request,
    }


def _floor_model(key: str, url: str, limiter: Any) -> Any:
    """A chat model with nothing of its own: one raw SDK call, its text as an ``AIMessage``."""
    import openai
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    aclient = openai.AsyncOpenAI(api_key=key, base_url=url, max_retries=2)
    sclient = openai.OpenAI(api_key=key, base_url=url, max_retries=2)

    def result(completion: Any) -> ChatResult:
        text = completion.choices[0].message.content or ""
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def wire(messages: list[BaseMessage]) -> Any:
        return [{"role": "user", "content": m.content} for m in messages]

    class Floor(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "floor"

        def _generate(self, messages: list[BaseMessage], *args: Any, **kw: Any) -> ChatResult:
            return result(sclient.chat.completions.create(model=MODEL, messages=wire(messages)))

        async def _agenerate(
            self, messages: list[BaseMessage], *args: Any, **kw: Any
        ) -> ChatResult:
            completion = await aclient.chat.completions.create(model=MODEL, messages=wire(messages))
            return result(completion)

    return Floor(rate_limiter=limiter)


def _run_child(client: str, url: str, requests: int, concurrency: int) -> dict[str, float]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        "from benchmarks.rate_limit_free import _child; "
        "print(json.dumps(_child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), client, url, str(requests), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _limiter_cost(n: int = 100_000) -> tuple[float, float]:
    """Microseconds per request the default limiter adds by itself: acquire + record_success,
    sync and async, nothing limiting (the rest of the batch is the chat model and HTTP)."""
    from langchain_openrouter_fenic import AdaptiveRateLimiter

    limiter = AdaptiveRateLimiter()
    start = time.perf_counter()
    for _ in range(n):
        limiter.acquire()
        limiter.record_success()
    sync = (time.perf_counter() - start) / n * 1e6

    async def run() -> float:
        start = time.perf_counter()
        for _ in range(n):
            await limiter.aacquire()
            limiter.record_success()
        return (time.perf_counter() - start) / n * 1e6

    return sync, asyncio.run(run())


def _quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def _spread(values: list[float]) -> str:
    """``median [q1-q3] (min-max)`` of per-round ratios."""
    q1, median, q3 = _quartiles(values)
    return f"{median:.3f}x [{q1:.3f}-{q3:.3f}] ({min(values):.2f}-{max(values):.2f})"


# the ratios the benchmark answers: (label, numerator client, denominator client)
RAW, FLOOR, BARE, DEFAULTS = CLIENTS
RATIOS = [
    ("langchain-core's cost: floor / raw SDK", FLOOR, RAW),
    ("ChatOpenRouter's own cost: no limiter / floor", BARE, FLOOR),
    ("the chat model in all: no limiter / raw SDK", BARE, RAW),
    ("the limiter's cost: defaults / no limiter", DEFAULTS, BARE),
    ("issue 13 target (<= 1.05x): defaults / raw SDK", DEFAULTS, RAW),
]


def _report(rounds: list[dict[str, dict[str, float]]], requests: int, concurrency: int) -> None:
    def med(client: str, field: str) -> float:
        return statistics.median(r[client][field] for r in rounds)

    def ratios(top: str, bottom: str, field: str) -> list[float]:
        return [r[top][field] / r[bottom][field] for r in rounds]

    print(
        f"\n{requests} requests, concurrency {concurrency}, then {SEQUENTIAL} sequential; "
        f"medians of {len(rounds)} interleaved rounds, each client in a fresh process.\n"
    )
    print(
        "| client | batch wall (s) | batch CPU (s) | CPU per request (us) | first 100 done (s) "
        f"| 2nd sequential call: acquire (ms) | {SEQUENTIAL} sequential wall (s) | CPU (s) "
        "| limiter decisions per request |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for client in CLIENTS:
        acquire = (
            f"{med(client, 'second_call_acquire_ms'):.3f}"
            if client.startswith("ChatOpenRouter")
            else "-"
        )
        decisions = (
            "-"
            if client != "ChatOpenRouter defaults"
            else f"{med(client, 'decisions_per_request'):.2f}"
        )
        print(
            f"| {client} | {med(client, 'total'):.3f} | {med(client, 'total_cpu'):.3f} | "
            f"{med(client, 'total_cpu') / requests * 1e6:.0f} | {med(client, 'first_100'):.2f} | "
            f"{acquire} | {med(client, 'sequential'):.3f} | {med(client, 'sequential_cpu'):.3f} "
            f"| {decisions} |"
        )
    print(
        "\nPer-round ratios, median [quartiles] (min-max) over the rounds; each ratio is taken "
        "within one round.\n"
    )
    print("| ratio | batch wall | batch CPU | sequential wall | sequential CPU |")
    print("|---|---|---|---|---|")
    for label, top, bottom in RATIOS:
        cells = [
            _spread(ratios(top, bottom, field))
            for field in ("total", "total_cpu", "sequential", "sequential_cpu")
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nPer round, batch wall / CPU ratios:")
    for label, top, bottom in RATIOS:
        walls = " ".join(f"{x:.2f}" for x in ratios(top, bottom, "total"))
        cpus = " ".join(f"{x:.2f}" for x in ratios(top, bottom, "total_cpu"))
        print(f"- {label}: wall {walls}; CPU {cpus}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1100)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=8, help="interleaved rounds")
    parser.add_argument("--limiter-only", action="store_true", help="only the limiter's own cost")
    args = parser.parse_args()
    sync_us, async_us = _limiter_cost()
    print(f"the limiter alone: {sync_us:.1f} us per request sync, {async_us:.1f} us async")
    if args.limiter_only:
        return
    from tests.support.emulator_process import emulator_process

    rounds: list[dict[str, dict[str, float]]] = []
    with emulator_process() as url:
        for repeat in range(args.repeats):
            # every order in turn, so that no client always runs first (or after another)
            order = ORDERS[repeat % len(ORDERS)]
            result = {c: _run_child(c, url, args.requests, args.concurrency) for c in order}
            rounds.append(result)
            print(f"round {repeat + 1}: " + json.dumps(result), file=sys.stderr, flush=True)
    _report(rounds, args.requests, args.concurrency)


if __name__ == "__main__":
    main()
