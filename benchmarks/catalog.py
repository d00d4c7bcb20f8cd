"""Catalog costs over the real 371-model snapshot shipped in the package.

    .venv/bin/python benchmarks/catalog.py [--rounds 30]

- first load: JSON decoding of the ``/models`` body and its translation into ``ModelInfo``
  records (the budget is <= 50 ms of parsing), and a whole first ``get`` through
  ``ModelCatalog`` with the HTTP fetch replaced by the decoded body (no network, no disk);
- a first ``get`` in another worker process: loaded from a fresh disk copy (no network);
- warm lookup: ``ModelCatalog.shared(base_url, key).get(model_id)`` once the catalog is loaded
  (the budget is <= 1 ms), and ``model_profile_from_info`` (what ``llm.profile`` costs);
- ``ChatOpenRouter``: a first ``model_info()`` over loopback HTTP (the emulator in
  ``tests/support`` serving the snapshot; JSON transfer, parsing, disk write), then a second
  ``ChatOpenRouter(model=..., api_key=..., base_url=...)`` of that cached model (the budget is
  <= 1 ms: construction must not wait on the network or re-read the catalog).

Medians (and best) of ``--rounds`` runs; no network beyond loopback; the disk copies live in a
temporary dir. Ends with a markdown table of every number (for ``benchmarks/README.md``).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from langchain_openrouter_fenic.catalog import ModelCatalog
from langchain_openrouter_fenic.catalog.disk_cache import (
    CACHE_DIR_ENV,
    CacheSettings,
    cache_file,
    write_catalog,
)
from langchain_openrouter_fenic.catalog.model_profile import model_profile_from_info
from langchain_openrouter_fenic.catalog.records import translate_entries as _translate

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


@dataclass(frozen=True)
class _Row:
    label: str
    median: float
    best: float
    unit: str
    budget: float | None

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return ""
        return "ok" if self.median <= self.budget else "OVER BUDGET"


_ROWS: list[_Row] = []


def _report(label: str, seconds: list[float], unit: str, budget: float | None = None) -> None:
    scale = {"ms": 1e3, "us": 1e6}[unit]
    row = _Row(label, statistics.median(seconds) * scale, min(seconds) * scale, unit, budget)
    _ROWS.append(row)
    limit = "" if budget is None else f" (budget {budget:g} {unit})"
    verdict = f"  {row.verdict}" if row.verdict else ""
    print(
        f"{label:<58} median {row.median:8.3f} {unit}  best {row.best:8.3f} {unit}{limit}{verdict}"
    )


def _markdown_table(rows: list[_Row]) -> str:
    lines = ["| measurement | median | best | budget |", "|---|---:|---:|---|"]
    for r in rows:
        budget = "" if r.budget is None else f"<= {r.budget:g} {r.unit} {r.verdict}"
        lines.append(f"| {r.label} | {r.median:.3f} {r.unit} | {r.best:.3f} {r.unit} | {budget} |")
    return "\n".join(lines)


def _chat_model_rounds(rounds: int) -> None:
    """First ``model_info()`` over loopback HTTP, then a second construction of a cached model."""
    from langchain_openrouter_fenic import ChatOpenRouter
    from tests.support.emulator import running_emulator

    with running_emulator() as emulator, tempfile.TemporaryDirectory() as cache_dir:
        os.environ[CACHE_DIR_ENV] = cache_dir
        # the user's call, ChatOpenRouter(model=MODEL, api_key=KEY, base_url=emulator.url)
        options: dict[str, Any] = {"model": MODEL, "api_key": KEY, "base_url": emulator.url}

        def first_model_info() -> None:
            ModelCatalog.clear_shared()  # a new process: nothing in memory ...
            for stale in Path(cache_dir).iterdir():  # ... nor on disk
                stale.unlink()
            ChatOpenRouter(**options).model_info()

        _report(
            "first ChatOpenRouter(...).model_info() over loopback HTTP",
            _samples(first_model_info, rounds),
            "ms",
        )
        ChatOpenRouter(**options).model_info()

        def construct() -> ChatOpenRouter:
            return ChatOpenRouter(**options)

        assert construct().profile, "the cached model's profile should be set at construction"
        _report(
            "second ChatOpenRouter(model=..., ...) of a cached model",
            _per_call(construct, 200, rounds),
            "ms",
            budget=1,
        )
        ModelCatalog.clear_shared()


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
    _chat_model_rounds(rounds)
    print()
    print(_markdown_table(_ROWS))


if __name__ == "__main__":
    main()
