"""Event-loop stalls while the catalog loads: a structured chain and an agent built in the loop.

    .venv/bin/python benchmarks/loop_stall.py [--rounds 7] [--catalog-seconds 1.0]

A loopback emulator answers every catalog route (``/models/user``, ``/endpoints``) after
``--catalog-seconds``. Each round is a fresh ``asyncio.run`` that starts as a new process would
(no catalog in memory, an empty disk cache); a ticker task sleeps 5 ms at a time, and its worst
lateness is the stall. Scenarios:

- ``with_structured_output`` built inside the loop, then two ``ainvoke`` (catalog + endpoints);
- ``create_agent(model, tools, response_format=...)`` and one ``ainvoke`` (it binds its tools on
  every model call);
- the reference: a synchronous ``llm.model_info()`` called inside the loop, i.e. what a blocking
  catalog fetch costs (it shows that the ticker sees a stall when there is one).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain.agents import create_agent
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_openrouter_fenic import ChatOpenRouter
from langchain_openrouter_fenic.catalog import ModelCatalog
from tests.support.emulator import OpenRouterEmulator

TICK = 0.005


class Joke(BaseModel):
    setup: str
    punchline: str


@tool
def get_weather(city: str) -> str:
    """The current weather of a city."""
    return f"21 C and sunny in {city}"


def _llm(url: str, model: str) -> ChatOpenRouter:
    return ChatOpenRouter(model=model, api_key="sk-bench", base_url=url, max_retries=0)


def _scenarios(url: str) -> dict[str, Callable[[], Awaitable[Any]]]:
    async def structured() -> Any:
        chain = _llm(url, "openai/gpt-4o-mini").with_structured_output(Joke)
        return [await chain.ainvoke("Tell me a joke"), await chain.ainvoke("Another one")]

    async def agent() -> Any:
        built = create_agent(
            _llm(url, "mistralai/mistral-nemo"), tools=[get_weather], response_format=Joke
        )
        return await built.ainvoke({"messages": [{"role": "user", "content": "A joke"}]})

    async def blocking_reference() -> Any:
        return _llm(url, "openai/gpt-4o-mini").model_info()

    return {
        "with_structured_output + 2 ainvoke": structured,
        "create_agent(response_format=...) ainvoke": agent,
        "reference: sync model_info() in the loop": blocking_reference,
    }


async def _worst_stall(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    loop = asyncio.get_running_loop()
    worst, running = 0.0, True

    async def ticker() -> None:
        nonlocal worst
        while running:
            before = loop.time()
            await asyncio.sleep(TICK)
            worst = max(worst, loop.time() - before - TICK)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(2 * TICK)
    start = time.perf_counter()
    await work()
    took = time.perf_counter() - start
    running = False
    await task
    return worst, took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--catalog-seconds", type=float, default=1.0)
    args = parser.parse_args()
    with OpenRouterEmulator().start() as quick:  # imports and lazy modules, not measured
        asyncio.run(_scenarios(quick.url)["with_structured_output + 2 ainvoke"]())
    samples: dict[str, list[tuple[float, float]]] = {}
    with OpenRouterEmulator(catalog_latency=args.catalog_seconds).start() as emu:
        scenarios = _scenarios(emu.url)
        for _ in range(args.rounds):
            for name, work in scenarios.items():  # interleaved
                ModelCatalog.clear_shared()
                os.environ["LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"] = tempfile.mkdtemp()
                samples.setdefault(name, []).append(asyncio.run(_worst_stall(work)))
    print(f"rounds={args.rounds} catalog answer={args.catalog_seconds} s")
    print("| scenario | worst stall, median (ms) | worst stall, max (ms) | run took, median (s) |")
    print("|---|---:|---:|---:|")
    for name, runs in samples.items():
        stalls = [s * 1e3 for s, _ in runs]
        took = statistics.median(t for _, t in runs)
        print(f"| {name} | {statistics.median(stalls):.1f} | {max(stalls):.1f} | {took:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
