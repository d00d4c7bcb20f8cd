"""ChatOpenRouter on openai 2.x (httpx) against openai 3.x (httpx2): streaming and invoke speed.

    .venv/bin/python benchmarks/openai_lines.py PY_OPENAI_2 PY_OPENAI_3 [--batches 12]

Each interpreter must have the project installed (editable) with its dev extras and one openai
line. Batches alternate between the two interpreters, so drift of a shared machine affects both
alike; each batch starts a fresh loopback emulator in its own process and reports the median of
its rounds (after warm-up) for a 200-chunk ``stream`` and an ``invoke``, for ChatOpenRouter and
for the raw SDK beside it. The result is the median over batches, and ChatOpenRouter's ratio
between the two lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BATCH = r"""
import json, statistics, sys, time
sys.path.insert(0, sys.argv[1])
import openai
from langchain_openrouter_fenic import ChatOpenRouter
from tests.support.emulator import OpenRouterEmulator

MODEL, PROMPT = "openai/gpt-4o-mini", "Say something short."
rounds = int(sys.argv[2])
with OpenRouterEmulator(chunk_count=200).start() as emu:
    ours = ChatOpenRouter(model=MODEL, api_key="bench-key", base_url=emu.url, max_retries=0)
    raw = openai.OpenAI(api_key="bench-key", base_url=emu.url, max_retries=0)
    messages = [{"role": "user", "content": PROMPT}]
    runs = {
        "stream": lambda: list(ours.stream(PROMPT)),
        "invoke": lambda: ours.invoke(PROMPT),
        "raw_stream": lambda: list(
            raw.chat.completions.create(model=MODEL, messages=messages, stream=True)
        ),
    }
    for run in runs.values():
        for _ in range(5):
            run()
    samples = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
print(json.dumps({"openai": openai.__version__,
                  **{k: statistics.median(v) * 1e6 for k, v in samples.items()}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python_a")
    parser.add_argument("python_b")
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {args.python_a: [], args.python_b: []}
    for _ in range(args.batches):
        for python in results:
            out = subprocess.run(
                [python, "-c", BATCH, str(ROOT), str(args.rounds)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            )  # fmt: skip
            results[python].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"batches={args.batches} rounds={args.rounds} python={sys.version.split()[0]}")
    print("| openai | ChatOpenRouter 200-chunk stream (µs) | ChatOpenRouter invoke (µs) "
          "| raw SDK 200-chunk stream (µs) |")  # fmt: skip
    print("|---|---:|---:|---:|")
    medians = {}
    for python, batches in results.items():
        med = {
            k: statistics.median(b[k] for b in batches) for k in ("stream", "invoke", "raw_stream")
        }
        medians[python] = med
        print(f"| {batches[0]['openai']} | {med['stream']:,.0f} | {med['invoke']:,.0f} "
              f"| {med['raw_stream']:,.0f} |")  # fmt: skip
    a, b = (medians[p] for p in results)
    print(
        f"ChatOpenRouter on {results[args.python_a][0]['openai']} / "
        f"{results[args.python_b][0]['openai']}: stream {a['stream'] / b['stream']:.2f}x, "
        f"invoke {a['invoke'] / b['invoke']:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
