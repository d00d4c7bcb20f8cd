"""The catalog snapshot shipped in the package: ``data/catalog-snapshot.json``.

OpenRouter's public ``GET /models`` on the date in the file (``snapshot_date``), refreshed before a
release by ``scripts/refresh_catalog_snapshot.py``. It answers what nothing else can without the
network: ``llm.profile`` of a model built before any catalog is in memory or on disk, and the CLI
without a key. It is never used for the checks made before a request (prices, parameters): those
wait for the live catalog.

Read on first need, never at import (importing the package stays cheap), and then only the
entries looked up are translated. The parsed file is kept for the life of the process: it is
read-only data, so a forked child may use the parent's copy, and no event loop or lock is
involved.
"""

from __future__ import annotations

import calendar
import functools
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .model_ids import ModelIndex, aliases_of
from .records import ModelInfo

__all__ = ["SNAPSHOT_RESOURCE", "Snapshot", "shipped_snapshot"]

SNAPSHOT_RESOURCE = "data/catalog-snapshot.json"


class _LazyRecords(Mapping[str, ModelInfo]):
    """Raw entries by id, translated into ``ModelInfo`` on first access."""

    __slots__ = ("_done", "_raw")

    def __init__(self, raw: Mapping[str, Mapping[str, Any]]) -> None:
        self._raw = raw
        self._done: dict[str, ModelInfo] = {}

    def __getitem__(self, model_id: str) -> ModelInfo:
        info = self._done.get(model_id)
        if info is None:
            info = self._done[model_id] = ModelInfo.from_api(self._raw[model_id])
        return info

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


@dataclass(frozen=True)
class Snapshot:
    """The shipped snapshot: when it was taken, from where, and its models (resolved like the
    live catalog's, see ``model_ids``)."""

    date: str
    source: str
    index: ModelIndex

    @property
    def taken_at(self) -> float:
        """The snapshot date as a Unix time (midnight UTC); 0 when the file names none."""
        try:
            return float(calendar.timegm(time.strptime(self.date, "%Y-%m-%d")))
        except ValueError:
            return 0.0

    def models(self) -> Mapping[str, ModelInfo]:
        """Every model, translated (the CLI's ``models`` listing)."""
        return {model_id: self.index.records[model_id] for model_id in self.index.records}


@functools.lru_cache(maxsize=1)
def shipped_snapshot() -> Snapshot:
    """The snapshot, parsed on the first call of the process."""
    resource = resources.files("langchain_openrouter_fenic").joinpath(SNAPSHOT_RESOURCE)
    document = json.loads(resource.read_text("utf-8"))
    raw = {
        entry["id"]: entry
        for entry in document.get("data") or []
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str) and entry["id"]
    }
    aliases = aliases_of((model_id, e.get("canonical_slug") or None) for model_id, e in raw.items())
    return Snapshot(
        date=str(document.get("snapshot_date") or "unknown date"),
        source=str(document.get("source") or "GET https://openrouter.ai/api/v1/models"),
        index=ModelIndex(_LazyRecords(raw), aliases),
    )
