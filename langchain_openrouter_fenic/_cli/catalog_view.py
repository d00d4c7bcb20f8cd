"""The catalog the CLI reads: the live one when a key is set and OpenRouter answers, else the
snapshot shipped in the package (with its date, and why it is used)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..catalog import EndpointInfo, ModelCatalog, ModelInfo
    from ..catalog.model_ids import ModelIndex

__all__ = ["CatalogView", "load_snapshot", "open_catalog"]


@dataclass
class CatalogView:
    """The catalog the CLI reads: live, or the shipped snapshot.

    Attributes:
        models: model id -> ModelInfo.
        source: ``"live"`` or ``"snapshot"``.
        snapshot_date: the snapshot's date (None when live).
        note: why the snapshot is used (empty when live).
        load_endpoints: fetches a model's ``/endpoints`` (None offline: no endpoint data).
        base_url: where a live catalog came from.
        index: resolves every model id form to its record (default: built from ``models``).
        find: the live lookup, as ``ChatOpenRouter`` makes it (an id the copy lacks is refetched
            once before it is unknown); None: ``index`` only.
    """

    models: Mapping[str, ModelInfo]
    source: str
    snapshot_date: str | None = None
    note: str = ""
    load_endpoints: Callable[[str], Sequence[EndpointInfo]] | None = None
    base_url: str | None = None
    index: ModelIndex | None = None
    find: Callable[[str], ModelInfo | None] | None = None

    def resolve(self, model_id: str) -> ModelInfo | None:
        if self.find is not None:
            return self.find(model_id)
        if self.index is None:
            from ..catalog.model_ids import ModelIndex, aliases_of

            pairs = ((m.id, m.canonical_slug) for m in self.models.values())
            self.index = ModelIndex(self.models, aliases_of(pairs))
        return self.index.resolve(model_id)

    def describe(self) -> str:
        if self.source == "live":
            return f"live, from {self.base_url}"
        return f"snapshot of {self.snapshot_date} shipped in the package ({self.note})"

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "snapshot_date": self.snapshot_date, "note": self.note}


def load_snapshot() -> tuple[str, Mapping[str, ModelInfo]]:
    """The shipped catalog snapshot: (its date, model id -> ModelInfo)."""
    from ..catalog.snapshot import shipped_snapshot

    snapshot = shipped_snapshot()
    return snapshot.date, MappingProxyType(snapshot.models())


def _snapshot_view(note: str) -> CatalogView:
    from ..catalog.snapshot import shipped_snapshot

    snapshot = shipped_snapshot()
    return CatalogView(
        models=snapshot.index.records,
        source="snapshot",
        snapshot_date=snapshot.date,
        note=note,
        index=snapshot.index,
    )


def open_catalog(base_url: str, api_key: str | None, *, offline: bool = False) -> CatalogView:
    """The live catalog when a key is set and OpenRouter answers, else the shipped snapshot."""
    if offline:
        return _snapshot_view("--offline")
    if not api_key:
        return _snapshot_view("OPENROUTER_API_KEY is not set")
    from ..catalog import ModelCatalog

    catalog = ModelCatalog.shared(base_url, api_key)
    try:
        index = catalog.index()
    except Exception as exc:  # unreachable, refused, bad key: the snapshot still answers
        return _snapshot_view(f"the live catalog at {base_url} failed: {exc}")
    return CatalogView(
        models=MappingProxyType(dict(index.records)),
        source="live",
        load_endpoints=catalog.endpoints,
        base_url=base_url,
        index=index,
        find=partial(_find_live, catalog),
    )


def _find_live(catalog: ModelCatalog, model_id: str) -> ModelInfo | None:
    from ..errors import ModelNotFoundError

    try:
        return catalog.get(model_id)
    except ModelNotFoundError:
        return None
