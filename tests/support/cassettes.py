"""Helpers for cassettes recorded against the emulator: body matching and per-test isolation."""

from __future__ import annotations

import json
import re
from typing import Any

# random ids that callers mint per run (e.g. uuid4 tool-call ids in few-shot examples)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _json(body: Any) -> Any:
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = _UUID.sub("<uuid>", body)
    try:
        return json.loads(body) if body else None
    except (TypeError, ValueError):
        return body


def json_body_matcher(r1: Any, r2: Any) -> None:
    """vcrpy matcher: request bodies equal as JSON (key order and spacing do not matter)."""
    assert _json(r1.body) == _json(r2.body), "request bodies differ"


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
