"""Helpers for cassettes recorded against the emulator: body matching and per-test isolation."""

from __future__ import annotations

import json
from typing import Any


def _json(body: Any) -> Any:
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
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
