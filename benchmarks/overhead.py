"""Client overhead against one loopback OpenRouter emulator, all clients in one run.

    .venv/bin/python benchmarks/overhead.py [--rounds 300]

Measures the median wall time of one non-streaming call and of one 200-chunk stream for the raw
``openai`` SDK, ChatOpenRouter and (when installed) ``langchain_openai.ChatOpenAI``, and reports
each as a ratio to the raw SDK. Also the import time of ``langchain_openrouter_fenic`` against
``langchain_core.language_models.chat_models`` (fresh interpreters, median of several).
Rounds alternate between clients so that drift of the machine affects all alike.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.emulator import OpenRouterEmulator

MODEL = "openai/gpt-4o-mini"
PROMPT = [{"role": "user", "content": "Say something short."}]


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _import_seconds(modules: list[str], runs: int = 11) -> dict[str, float]:
    """Median import time of each module in fresh interpreters, runs interleaved."""
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(runs):
        for module in modules:
            code = (
                "import time; t = time.perf_counter(); "
                f"import {module}; print(time.perf_counter() - t)"
            )
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            samples[module].append(float(out.stdout.strip()))
    return {m: statistics.median(v) for m, v in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--chunks", type=int, default=200)
    args = parser.parse_args()

    import openai

    from langchain_openrouter_fenic import ChatOpenRouter

    with OpenRouterEmulator(chunk_count=args.chunks).start() as emu:
        raw = openai.OpenAI(api_key="bench-key", base_url=emu.url, max_retries=0)
        ours = ChatOpenRouter(model=MODEL, api_key="bench-key", base_url=emu.url, max_retries=0)
        clients: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
            "raw openai SDK": (
                lambda: raw.chat.completions.create(model=MODEL, messages=PROMPT),  # type: ignore[arg-type]
                lambda: list(
                    raw.chat.completions.create(model=MODEL, messages=PROMPT, stream=True)
                ),  # type: ignore[arg-type]
            ),
            "ChatOpenRouter": (
                lambda: ours.invoke(PROMPT[0]["content"]),
                lambda: list(ours.stream(PROMPT[0]["content"])),
            ),
        }
        try:
            from langchain_openai import ChatOpenAI

            theirs = ChatOpenAI(model=MODEL, api_key="bench-key", base_url=emu.url, max_retries=0)  # type: ignore[arg-type]
            clients["ChatOpenAI"] = (
                lambda: theirs.invoke(PROMPT[0]["content"]),
                lambda: list(theirs.stream(PROMPT[0]["content"])),
            )
        except ImportError:
            pass

        # warm-up: connections, catalog, lazy imports
        for invoke, stream in clients.values():
            for _ in range(5):
                invoke()
                stream()
        invoke_samples: dict[str, list[float]] = {name: [] for name in clients}
        stream_samples: dict[str, list[float]] = {name: [] for name in clients}
        for _ in range(args.rounds):
            for name, (invoke, stream) in clients.items():
                invoke_samples[name].append(_time(invoke))
                stream_samples[name].append(_time(stream))

    # pip compiles an installed package's bytecode; an editable checkout (and a machine with
    # PYTHONDONTWRITEBYTECODE) would recompile our sources on every import instead
    import compileall

    compileall.compile_dir(
        str(Path(__file__).resolve().parents[1] / "langchain_openrouter_fenic"), quiet=1
    )
    floor_module = "langchain_core.language_models.chat_models"
    imports = _import_seconds([floor_module, "langchain_openrouter_fenic"])
    floor, ours_import = imports[floor_module], imports["langchain_openrouter_fenic"]
    base_invoke = _median_us(invoke_samples["raw openai SDK"])
    base_stream = _median_us(stream_samples["raw openai SDK"])
    print(f"rounds={args.rounds} chunks={args.chunks} python={sys.version.split()[0]}")
    print(
        f"| client | invoke median (µs) | ratio | {args.chunks}-chunk stream median (µs) | ratio |"
    )
    print("|---|---:|---:|---:|---:|")
    for name in clients:
        inv, st = _median_us(invoke_samples[name]), _median_us(stream_samples[name])
        inv_ratio, st_ratio = inv / base_invoke, st / base_stream
        print(f"| {name} | {inv:,.0f} | {inv_ratio:.2f}x | {st:,.0f} | {st_ratio:.2f}x |")
    print()
    print("| import | median (ms) | ratio |")
    print("|---|---:|---:|")
    print(f"| langchain_core.language_models.chat_models | {floor * 1e3:.1f} | 1.00x |")
    print(f"| langchain_openrouter_fenic | {ours_import * 1e3:.1f} | {ours_import / floor:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
