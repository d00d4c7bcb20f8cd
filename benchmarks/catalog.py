"""Catalog costs over the real 371-model snapshot shipped in the package.

    .venv/bin/python benchmarks/catalog.py [--rounds 30]

- first load: JSON decoding of the ``/models`` body and its translation into ``ModelInfo``
  records (the budget is <= 50 ms of parsing), and a whole first ``get`` through
  ``ModelCatalog`` with the HTTP fetch replaced by the decoded body (no network, no disk);
- a first ``get`` in another worker process: loaded from a fresh disk copy (no network);
- warm lookup: ``ModelCatalog.shared(base_url, key).get(model_id)`` once the catalog is loaded
  (the budget is <= 1 ms), and ``model_profile_from_info`` (what ``llm.profile`` costs).

Medians (and best) of ``--rounds`` runs; no network; the disk copy lives in a temporary dir.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from langchain_openrouter_fenic._disk_cache import (
    CACHE_DIR_ENV,
    CacheSettings,
    cache_file,
    write_catalog,
)
from langchain_openrouter_fenic._model_profile import model_profile_from_info
from langchain_openrouter_fenic.catalog import ModelCatalog, _translate

SNAPSHOT = (
    Path(__file__).resolve().parents[1] / "langchain_openrouter_fenic/data/catalog-snapshot.json"
)
BASE_URL = "http://benchmark.invalid/api/v1"
KEY = "sk-or-v1-benchmark"
MODEL = "anthropic/claude-sonnet-4"


def _samples(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _per_call(fn: Callable[[], object], calls: int, rounds: int) -> list[float]:
    def batch() -> None:
        for _ in range(calls):
            fn()

    return [s / calls for s in _samples(batch, rounds)]


def _report(label: str, seconds: list[float], unit: str, budget: float | None = None) -> None:
    scale = {"ms": 1e3, "us": 1e6}[unit]
    median, best = statistics.median(seconds) * scale, min(seconds) * scale
    verdict = "" if budget is None else ("  ok" if median <= budget else "  OVER BUDGET")
    limit = "" if budget is None else f" (budget {budget:g} {unit})"
    print(f"{label:<58} median {median:8.3f} {unit}  best {best:8.3f} {unit}{limit}{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds

    text = SNAPSHOT.read_text()
    body = {"data": json.loads(text)["data"]}
    print(f"catalog snapshot: {len(body['data'])} models, {len(text) / 1024:.0f} KiB of JSON")

    _report("JSON decode of the /models body", _samples(lambda: json.loads(text), rounds), "ms")
    _report(
        "translate 371 entries into ModelInfo (parsing)",
        _samples(lambda: _translate(body["data"]), rounds),
        "ms",
        budget=50,
    )

    def first_get() -> None:
        catalog = ModelCatalog(
            BASE_URL, KEY, fetch_json=lambda _path: body, cache=CacheSettings(None, 3600)
        )
        catalog.get(MODEL)

    _report("first ModelCatalog.get (fetch stubbed, no disk)", _samples(first_get, rounds), "ms")

    with tempfile.TemporaryDirectory() as cache_dir:
        os.environ[CACHE_DIR_ENV] = cache_dir
        write_catalog(
            cache_file(Path(cache_dir), BASE_URL, KEY),
            body["data"],
            fetched_at=time.time(),
            source="/models/user",
            base_url=BASE_URL,
        )

        def first_get_from_disk() -> None:
            ModelCatalog(BASE_URL, KEY).get(MODEL)

        _report(
            "first ModelCatalog.get from a fresh disk copy",
            _samples(first_get_from_disk, rounds),
            "ms",
        )
        ModelCatalog.clear_shared()
        warm = ModelCatalog.shared(BASE_URL, KEY)
        warm.get(MODEL)  # loads the disk copy: no network
        _report(
            "warm ModelCatalog.shared(base_url, key).get(id)",
            _per_call(lambda: ModelCatalog.shared(BASE_URL, KEY).get(MODEL), 10_000, rounds),
            "us",
            budget=1000,
        )
    info = warm.get(MODEL)
    _report(
        "model_profile_from_info (llm.profile)",
        _per_call(lambda: model_profile_from_info(info), 10_000, rounds),
        "us",
    )
    ModelCatalog.clear_shared()


if __name__ == "__main__":
    main()
