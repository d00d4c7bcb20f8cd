"""Cold start: a fresh interpreter importing the package, then building its first model.

    .venv/bin/python benchmarks/cold_start.py [--runs 21] [--compare /path/to/other/checkout]

Three measures, each in fresh interpreters, runs interleaved so machine drift hits all alike:

- ``import langchain_core.language_models.chat_models``: the floor any LangChain chat model pays;
- ``import langchain_openrouter_fenic``: the package's own cold-start figure (benchmarks/README.md);
- import + the first ``ChatOpenRouter(model=..., api_key=..., base_url=...)`` with nothing in
  memory or on disk: its ``llm.profile`` comes from the shipped snapshot, read at that moment.

With ``--compare``, the same two package measures run against another checkout (e.g. an export
of an older ``main``) in the same rounds, and the ratios new / other are printed. The package is
byte-compiled first, as a regular ``pip install`` does.
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOOR = "import langchain_core.language_models.chat_models"
IMPORT = "import langchain_openrouter_fenic"
FIRST_MODEL = (
    "import langchain_openrouter_fenic as p; "
    "llm = p.ChatOpenRouter(model='mistralai/mistral-nemo', api_key='k', "
    "base_url='http://127.0.0.1:9/api/v1'); llm.profile"
)


def _run(code: str, checkout: Path, cache_dir: str) -> str:
    """``code`` in a fresh interpreter that imports the package from ``checkout``: run from there,
    since ``python -c`` puts the working directory ahead of ``PYTHONPATH`` (run from this
    checkout, a compared one would import this one's package)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR": cache_dir,
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=checkout,
    )
    return out.stdout.strip()


def _seconds(code: str, checkout: Path, cache_dir: str) -> float:
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    return float(_run(timed, checkout, cache_dir))


def _check_imports_from(checkout: Path, cache_dir: str) -> None:
    where = Path(_run(f"{IMPORT} as p; print(p.__file__)", checkout, cache_dir)).resolve()
    if not where.is_relative_to(checkout):
        raise SystemExit(f"{checkout}: the package was imported from {where}, not from there")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--compare", type=Path, default=None, help="another checkout")
    args = parser.parse_args()
    checkouts = {"this checkout": ROOT}
    if args.compare is not None:
        checkouts["--compare"] = args.compare.resolve()
    for checkout in checkouts.values():
        compileall.compile_dir(str(checkout / "langchain_openrouter_fenic"), quiet=1)
    measures = {"floor": FLOOR, "import": IMPORT, "import + first model": FIRST_MODEL}
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as empty_cache:
        for checkout in checkouts.values():
            _check_imports_from(checkout, empty_cache)
        for _ in range(args.runs):
            for name, checkout in checkouts.items():
                for measure, code in measures.items():
                    if measure == "floor" and name != "this checkout":
                        continue
                    value = _seconds(code, checkout, empty_cache)
                    samples.setdefault((name, measure), []).append(value)
    medians = {key: statistics.median(values) * 1e3 for key, values in samples.items()}
    floor = medians[("this checkout", "floor")]
    print(f"runs={args.runs} python={sys.version.split()[0]}")
    print("| checkout | measure | median (ms) | / floor |")
    print("|---|---|---:|---:|")
    for (name, measure), ms in medians.items():
        print(f"| {name} | {measure} | {ms:.1f} | {ms / floor:.2f}x |")
    if args.compare is not None:
        for measure in ("import", "import + first model"):
            ratio = medians[("this checkout", measure)] / medians[("--compare", measure)]
            print(f"{measure}: this checkout / --compare = {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
