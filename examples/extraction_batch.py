"""A 200-request extraction batch with a progress bar, exact cost totals and a budget.

Offline: runs against the project's loopback OpenRouter emulator (tests/support/emulator.py),
which injects a few real-shaped faults (5xx answers that are retried, a provider 400 that is
not) so that the progress shows retries and a failure. Live when OPENROUTER_API_KEY is set
(model: $EXTRACT_MODEL, default openai/gpt-4o-mini) -- the same code, real money, so the budget
is small.

    python examples/extraction_batch.py            # tqdm bar if tqdm is installed, else log lines
    python examples/extraction_batch.py --count 50
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

ROOT = Path(__file__).resolve().parents[1]

CITIES = ["Lyon", "Porto", "Bergen", "Graz", "Turku", "Leiden", "Ghent", "Cork", "Split", "Brno"]


class Shipment(BaseModel):
    """Where a parcel goes and how heavy it is."""

    city: str = Field(description="the destination city")
    weight_kg: float = Field(description="the parcel's weight in kilograms")


def orders(count: int) -> list[str]:
    return [
        f"Ship the parcel of {1 + i % 7}.5 kg to our customer in {CITIES[i % 10]} (order {i})."
        for i in range(count)
    ]


def run(count: int = 200, *, budget: float = 0.05, stream: Any = None) -> dict[str, Any]:
    """Extract ``count`` shipments; returns what was printed, for the test of this example."""
    from langchain_openrouter_fenic import (
        ChatOpenRouter,
        OpenRouterProgress,
        openrouter_usage,
    )

    with ExitStack() as stack:
        options: dict[str, Any] = {"model": os.environ.get("EXTRACT_MODEL", "openai/gpt-4o-mini")}
        if not os.environ.get("OPENROUTER_API_KEY"):
            options.update(_offline(stack))
        llm = ChatOpenRouter(max_retries=2, timeout=60, **options)
        extract = llm.with_structured_output(Shipment)
        inputs = orders(count)
        started = time.monotonic()
        progress = stack.enter_context(
            OpenRouterProgress(
                total=count, desc="extract", rate_limiter=llm.rate_limiter, file=stream
            )
        )
        with openrouter_usage(budget=budget) as usage:
            results = extract.batch(
                inputs,
                config={"callbacks": [progress], "max_concurrency": 16},
                return_exceptions=True,
            )
        elapsed = time.monotonic() - started
    shipments = [r for r in results if isinstance(r, Shipment)]
    failures = [r for r in results if isinstance(r, Exception)]
    kinds = ", ".join(sorted({type(f).__name__ for f in failures})) or "-"
    lines = [
        f"{len(shipments)} of {count} orders extracted in {elapsed:.1f} s; "
        f"{len(failures)} failed ({kinds})",
        f"{usage.requests} billed requests, {usage.input_tokens:,} input + "
        f"{usage.output_tokens:,} output tokens, ${usage.cost:.6f}"
        + (" (estimated in part)" if usage.cost_estimated else " (exact, as OpenRouter billed)"),
    ]
    for provider, totals in usage.by_provider.items():
        lines.append(f"  {provider}: {totals.requests} requests, ${totals.cost:.6f}")
    if shipments:
        first = shipments[0]
        lines.append(f"first: {first.city}, {first.weight_kg} kg")
    print("\n".join(lines))
    return {
        "results": results,
        "shipments": shipments,
        "failures": failures,
        "usage": usage,
        "progress": progress,
    }


def _offline(stack: ExitStack) -> dict[str, Any]:
    """Start the emulator with a few faults queued; point the model at it."""
    sys.path.insert(0, str(ROOT))
    from tests.support.emulator import OpenRouterEmulator, Reply

    emulator = stack.enter_context(OpenRouterEmulator(latency=0.05))
    emulator.enqueue(
        Reply.error(502, "Provider returned an invalid response"),
        Reply.provider_error(400),
        Reply.error(500, "Internal Server Error"),
    )
    return {"api_key": "sk-or-v1-offline-example", "base_url": emulator.url}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--budget", type=float, default=0.05, help="USD")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("langchain_openrouter_fenic").setLevel(logging.INFO)  # progress lines
    run(args.count, budget=args.budget)


if __name__ == "__main__":
    main()
