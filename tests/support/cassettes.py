"""Helpers for cassettes recorded against the emulator: body matching and per-test isolation."""

from __future__ import annotations

import json
from typing import Any

# the package's own matcher (langchain_openrouter_fenic.testing): bodies equal as canonical JSON
from langchain_openrouter_fenic.testing.matching import json_body as json_body_matcher

__all__ = ["catalog_entries", "json_body_matcher", "reset_shared_state"]


def reset_shared_state() -> None:
    """Forget process-wide catalogs so that each test fetches (and records) its own."""
    from langchain_openrouter_fenic import catalog

    catalog.ModelCatalog.clear_shared()


def catalog_entries(model_ids: list[str]) -> list[dict[str, Any]]:
    """The shipped real-catalog entries of these models (a small catalog keeps cassettes small)."""
    from importlib import resources

    snapshot = json.loads(
        resources.files("langchain_openrouter_fenic")
        .joinpath("data/catalog-snapshot.json")
        .read_text()
    )
    wanted = {entry["id"]: entry for entry in snapshot["data"] if entry["id"] in model_ids}
    missing = set(model_ids) - set(wanted)
    if missing:
        raise KeyError(f"not in the catalog snapshot: {sorted(missing)}")
    return [wanted[m] for m in model_ids]
