"""OpenRouter's response cache, as the emulator serves it (``../shared/reference``, §3).

Opt in per request with ``X-OpenRouter-Cache: true``; ``X-OpenRouter-Cache-TTL`` (seconds, leading
digits parsed, clamped to 1..86400, default 300); ``X-OpenRouter-Cache-Clear: true`` drops the
entry first. The key is the API key, the stream flag and the body with whitespace normalised
(key order matters; the model is in the body). Only complete 200s are stored. A HIT replays the
stored answer (chunk by chunk for streams) under a new generation id, with zero usage and cost and
no ``openrouter_metadata``; it is checked before any rate limit, since a HIT reaches no provider.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from tests.support.emulator_chat import dumps
from tests.support.emulator_replies import Wire, map_documents, wire_documents

__all__ = ["DEFAULT_TTL", "CacheDirective", "ResponseCache"]

DEFAULT_TTL = 300
MAX_TTL = 86400
_LEADING_DIGITS = re.compile(r"\s*(\d+)")


@dataclass(frozen=True)
class CacheDirective:
    """What a request's ``X-OpenRouter-Cache*`` headers ask for."""

    enabled: bool
    ttl: int
    clear: bool

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> CacheDirective:
        enabled = headers.get("x-openrouter-cache", "").strip().lower() == "true"
        match = _LEADING_DIGITS.match(headers.get("x-openrouter-cache-ttl", ""))
        ttl = min(MAX_TTL, max(1, int(match.group(1)))) if match else DEFAULT_TTL
        clear = headers.get("x-openrouter-cache-clear", "").strip().lower() == "true"
        return cls(enabled, ttl, clear)


@dataclass
class _Entry:
    wire: Wire
    stored_at: float
    ttl: int
    source_id: str
    hits: int = 0


class ResponseCache:
    """Stored answers by cache key; ``clock`` (seconds) decides expiry."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def reset(self) -> None:
        with self._lock:
            self._entries.clear()

    @staticmethod
    def key(api_key: str, body: Any) -> str:
        # json.dumps without sort_keys: whitespace is normalised, key order is kept
        canonical = f"{api_key}\n{bool(body.get('stream'))}\n{dumps(body)}"
        return hashlib.sha256(canonical.encode()).hexdigest()

    def hit(self, key: str, directive: CacheDirective) -> tuple[Wire, str] | None:
        """The HIT answer and the source generation id, or None (a MISS)."""
        now = self._clock()
        with self._lock:
            if directive.clear:
                self._entries.pop(key, None)
                return None
            entry = self._entries.get(key)
            if entry is None:
                return None
            age = now - entry.stored_at
            if age >= entry.ttl:
                del self._entries[key]
                return None
            entry.hits += 1
            hits, source = entry.hits, entry.source_id
            wire, ttl = entry.wire, entry.ttl
        headers = {
            "X-OpenRouter-Cache-Status": "HIT",
            "X-OpenRouter-Cache-TTL": str(max(0, int(ttl - age))),
            "X-OpenRouter-Cache-Age": str(int(age)),
            "X-OpenRouter-Cache-Source-Id": source,
        }
        new_id = f"{source}-hit{hits}"
        return _with_headers(_replayed(wire, source, new_id), headers), source

    def store(self, key: str, wire: Wire, directive: CacheDirective) -> Wire:
        """Keep a complete 200 and answer it marked MISS (other answers pass unchanged)."""
        if wire.status != 200 or wire.cut_after is not None:
            return wire
        source = _generation_id(wire)
        if source is None:
            return wire
        with self._lock:
            self._entries[key] = _Entry(wire, self._clock(), directive.ttl, source)
        headers = {
            "X-OpenRouter-Cache-Status": "MISS",
            "X-OpenRouter-Cache-TTL": str(directive.ttl),
        }
        return _with_headers(wire, headers)


def _with_headers(wire: Wire, headers: Mapping[str, str]) -> Wire:
    return replace(wire, headers=(*wire.headers, *headers.items()))


def _generation_id(wire: Wire) -> str | None:
    for doc in wire_documents(wire):
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            return doc["id"]
    return None


def _zero_usage(usage: Any) -> Any:
    if not isinstance(usage, dict):
        return usage
    out: dict[str, Any] = {}
    for name, value in usage.items():
        if isinstance(value, bool) or value is None:
            out[name] = value
        elif isinstance(value, (int, float)):
            out[name] = type(value)(0)
        elif isinstance(value, dict):
            out[name] = _zero_usage(value)
        else:
            out[name] = value
    return out


def _replay_doc(doc: Any, source: str, new_id: str) -> Any:
    if not isinstance(doc, dict):
        return doc
    out = {k: v for k, v in doc.items() if k != "openrouter_metadata"}
    if out.get("id") == source:
        out["id"] = new_id
    if "usage" in out:
        out["usage"] = _zero_usage(out["usage"])
    return out


def _replayed(wire: Wire, source: str, new_id: str) -> Wire:
    return map_documents(wire, lambda doc: _replay_doc(doc, source, new_id))
