"""Provider-side prompt caching, as the emulator models it (``../shared/reference``, §3).

A request caches its prompt prefix up to a ``cache_control`` marker on a content part (Claude and
Gemini models), or, with a top-level ``cache_control`` (Claude only), up to its last message, the
breakpoint moving with the conversation. A prefix shorter than the provider minimum (1024 tokens)
is not cached. The first request with a prefix writes it (``cache_write_tokens``, priced at the
catalog's ``input_cache_write``, or 2x the input price for ``ttl: "1h"``); later requests whose
prompt starts with a stored prefix read it (``cached_tokens``, priced at ``input_cache_read``)
until its TTL (5 minutes, or 1 hour) runs out, each read renewing it. Usage and cost of the
answer are rewritten to match, so the bill, ``/generation`` and ``/key`` agree.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.support.emulator_chat import ChatContext, dumps, prompt_tokens
from tests.support.emulator_replies import Wire, map_documents

__all__ = ["MIN_CACHED_PREFIX", "PromptCache"]

MIN_CACHED_PREFIX = 1024
_MARKER_AUTHORS = ("anthropic/", "~anthropic/", "google/", "~google/")
_AUTOMATIC_AUTHORS = ("anthropic/", "~anthropic/")
_TTL_SECONDS = {"5m": 300, "1h": 3600}


@dataclass(frozen=True)
class _Breakpoint:
    digest: str
    tokens: int
    ttl: int


def _tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    return prompt_tokens({"messages": list(messages)})


def _breakpoints(body: Mapping[str, Any], scope: str) -> list[_Breakpoint]:
    """Every cacheable prefix of the prompt, shortest first."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, Mapping)]
    found: list[_Breakpoint] = []

    def add(prefix: list[Any], tokens: int, marker: Mapping[str, Any]) -> None:
        digest = hashlib.sha256(f"{scope}\n{dumps(prefix)}".encode()).hexdigest()
        found.append(_Breakpoint(digest, tokens, _TTL_SECONDS.get(marker.get("ttl", "5m"), 300)))

    for index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for part_index, part in enumerate(content):
            if isinstance(part, Mapping) and isinstance(part.get("cache_control"), Mapping):
                head = {**message, "content": content[: part_index + 1]}
                prefix = [*messages[:index], head]
                add(prefix, _tokens(messages[:index]) + _tokens([head]), part["cache_control"])
    automatic = body.get("cache_control")
    if isinstance(automatic, Mapping):
        for end in range(1, len(messages) + 1):  # a read may match any earlier turn
            add(messages[:end], _tokens(messages[:end]), automatic)
    found.sort(key=lambda b: b.tokens)
    return found


def _price(pricing: Mapping[str, Any], key: str, default: float) -> float:
    try:
        return float(pricing[key])
    except (KeyError, TypeError, ValueError):
        return default


class PromptCache:
    """Stored prompt prefixes (per API key and model) and their expiry instants."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def reset(self) -> None:
        with self._lock:
            self._expiry.clear()

    def apply(self, api_key: str, ctx: ChatContext, wire: Wire) -> Wire:
        """The answer with cache reads and writes accounted for (unchanged without markers)."""
        model_id = ctx.model_id
        if wire.status != 200 or not model_id.startswith(_MARKER_AUTHORS):
            return wire
        body = ctx.body
        if "cache_control" in body and not model_id.startswith(_AUTOMATIC_AUTHORS):
            body = {k: v for k, v in body.items() if k != "cache_control"}  # ignored there
        points = _breakpoints(body, f"{api_key}\n{model_id}")
        points = [p for p in points if p.tokens >= MIN_CACHED_PREFIX]
        if not points:
            return wire
        now = self._clock()
        with self._lock:
            hits = [p for p in points if self._expiry.get(p.digest, 0.0) > now]
            read = max((p.tokens for p in hits), default=0)
            longest = points[-1]
            write = 0 if longest in hits else longest.tokens - read
            for point in [*hits, longest]:
                self._expiry[point.digest] = now + point.ttl
        ttl_1h = longest.ttl > 300
        return map_documents(wire, lambda doc: _priced(doc, ctx.model, read, write, ttl_1h))


def _priced(
    doc: Any, model: Mapping[str, Any] | None, read: int, write: int, long_ttl: bool
) -> Any:
    if not isinstance(doc, dict) or not isinstance(doc.get("usage"), dict):
        return doc
    usage = dict(doc["usage"])
    pricing = (model or {}).get("pricing") or {}
    base = _price(pricing, "prompt", 0.0)
    read_price = _price(pricing, "input_cache_read", base * 0.1)
    write_price = 2 * base if long_ttl else _price(pricing, "input_cache_write", base * 1.25)
    prompt = int(usage.get("prompt_tokens") or 0)
    plain = max(0, prompt - read - write)
    prompt_cost = float(f"{plain * base + read * read_price + write * write_price:.10g}")
    details = dict(usage.get("cost_details") or {})
    completion_cost = float(details.get("upstream_inference_completions_cost") or 0.0)
    cost = float(f"{prompt_cost + completion_cost:.10g}")
    details.update(upstream_inference_prompt_cost=prompt_cost, upstream_inference_cost=cost)
    tokens = dict(usage.get("prompt_tokens_details") or {})
    tokens.update(cached_tokens=read, cache_write_tokens=write)
    usage.update(cost=cost, cost_details=details, prompt_tokens_details=tokens)
    return {**doc, "usage": usage}
