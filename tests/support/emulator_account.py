"""The emulated account: what each generation cost (``GET /generation``), what the key has spent
(``GET /key``) and the credit pre-check that answers 402.

OpenRouter bills a generation when it completes with a 200; errors and cut connections are not
billed (zero-completion insurance). The :class:`Ledger` keeps the wires the emulator served and
reads them lazily, so serving stays as cheap as before for the tests that never ask.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from tests.support.emulator_catalog import price_usage
from tests.support.emulator_replies import (
    KEY_LIMIT_ADVICE,
    PURCHASE_ADVICE,
    Wire,
    error_document,
    insufficient_credits_document,
    json_wire,
    wire_documents,
)

__all__ = ["Ledger", "credit_refusal", "generation_not_found"]


def generation_not_found(gen_id: str) -> Wire:
    return json_wire(404, error_document(404, f"Generation {gen_id} not found"))


@dataclass
class _Served:
    wire: Wire
    streamed: bool
    started: float
    latency_ms: int
    cache_source_id: str | None


class Ledger:
    """Generations served (by id) and the USD they cost, read from the wires on demand.

    ``not_found_lookups``: how many ``GET /generation`` lookups of each id answer 404 first,
    like OpenRouter does for a while after a request ends.
    """

    def __init__(self, *, not_found_lookups: int = 0, clock: Callable[[], float] = time.time):
        self.not_found_lookups = not_found_lookups
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[_Served] = []
        self._generations: dict[str, dict[str, Any]] = {}
        self._lookups: Counter[str] = Counter()
        self._spent = Decimal(0)
        self._billed = 0

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self._generations.clear()
            self._lookups.clear()
            self._spent, self._billed = Decimal(0), 0

    def served(
        self,
        wire: Wire,
        *,
        streamed: bool,
        started: float,
        cache_source_id: str | None = None,
    ) -> None:
        """Note a chat answer; only complete 200s are billed."""
        if wire.status != 200 or wire.cut_after is not None:
            return
        latency_ms = max(0, round((time.monotonic() - started) * 1000))
        with self._lock:
            self._pending.append(
                _Served(wire, streamed, self._clock(), latency_ms, cache_source_id)
            )

    def spent(self) -> float:
        """USD billed so far."""
        with self._lock:
            self._drain()
            return float(self._spent)

    def billed(self) -> int:
        """How many generations were billed (cache hits included, at zero)."""
        with self._lock:
            self._drain()
            return self._billed

    def lookup(self, gen_id: str) -> dict[str, Any] | None:
        """The ``/generation`` record of ``gen_id``; None while it is "not found yet"."""
        with self._lock:
            self._drain()
            self._lookups[gen_id] += 1
            record = self._generations.get(gen_id)
            if record is None or self._lookups[gen_id] <= self.not_found_lookups:
                return None
            return dict(record)

    def _drain(self) -> None:
        for served in self._pending:
            record = _generation_record(served)
            if record is None:
                continue
            self._generations[record["id"]] = record
            self._spent += Decimal(str(record["total_cost"]))
            self._billed += 1
        self._pending.clear()


def _summary(served: _Served) -> dict[str, Any] | None:
    """The completed answer's id, model, provider, usage and finish reasons, else None."""
    if served.streamed:
        events = [e for e in wire_documents(served.wire) if isinstance(e, dict)]
        if not events or any(isinstance(e.get("error"), Mapping) for e in events):
            return None
        doc: dict[str, Any] = {}
        for event in events:
            for key in ("id", "model", "provider", "usage"):
                if event.get(key) is not None:
                    doc[key] = event[key]
            for choice in event.get("choices") or []:
                for key in ("finish_reason", "native_finish_reason"):
                    if choice.get(key):
                        doc[key] = choice[key]
        return doc if doc.get("id") else None
    body = next(iter(wire_documents(served.wire)), None)
    if not isinstance(body, dict) or not body.get("choices") or not body.get("id"):
        return None
    choice = body["choices"][0]
    if choice.get("error") or choice.get("finish_reason") == "error":
        return None
    return {
        "id": body["id"],
        "model": body.get("model"),
        "provider": body.get("provider"),
        "usage": body.get("usage"),
        "finish_reason": choice.get("finish_reason"),
        "native_finish_reason": choice.get("native_finish_reason"),
    }


def _generation_record(served: _Served) -> dict[str, Any] | None:
    doc = _summary(served)
    if doc is None:
        return None
    usage = doc.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cost = float(usage.get("cost") or 0.0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    reasoning = int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)
    created = datetime.fromtimestamp(served.started, tz=timezone.utc).isoformat()
    provider = doc.get("provider")
    return {
        "id": doc["id"],
        "upstream_id": None if served.cache_source_id else f"chatcmpl-{doc['id'][-12:]}",
        "total_cost": cost,
        "cache_discount": None,
        "upstream_inference_cost": None,
        "usage": cost,
        "is_byok": False,
        "created_at": created,
        "model": doc.get("model"),
        "provider_name": provider,
        "api_type": "completions",
        "streamed": served.streamed,
        "cancelled": False,
        "latency": served.latency_ms,
        "moderation_latency": None,
        "generation_time": served.latency_ms,
        "finish_reason": doc.get("finish_reason"),
        "native_finish_reason": doc.get("native_finish_reason"),
        "tokens_prompt": prompt,
        "tokens_completion": completion,
        "native_tokens_prompt": prompt,
        "native_tokens_completion": completion,
        "native_tokens_reasoning": reasoning,
        "native_tokens_cached": cached,
        "num_media_prompt": None,
        "num_media_completion": None,
        "num_search_results": None,
        "origin": "",
        "response_cache_source_id": served.cache_source_id,
        "provider_responses": [
            {
                "id": f"chatcmpl-{doc['id'][-12:]}",
                "endpoint_id": f"ep-{(provider or 'none').lower().replace(' ', '-')}",
                "model_permaslug": doc.get("model"),
                "provider_name": provider,
                "status": 200,
                "latency": served.latency_ms,
                "is_byok": False,
            }
        ]
        if not served.cache_source_id
        else [],
    }


def _requested_tokens(body: Mapping[str, Any], model: Mapping[str, Any], prompt: int) -> int:
    """The output the pre-check must reserve: max_tokens, else the model's maximum output."""
    asked = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(asked, int) and asked > 0:
        return asked
    top = model.get("top_provider") or {}
    if top.get("max_completion_tokens"):
        return int(top["max_completion_tokens"])
    return max(1, int(model.get("context_length") or 4096) - prompt)


def credit_refusal(
    body: Mapping[str, Any],
    model: Mapping[str, Any] | None,
    prompt_tokens: int,
    *,
    key_remaining: float | None,
    balance: float | None,
) -> Wire | None:
    """OpenRouter's credit pre-check: 402 when the key's limit or the balance cannot cover the
    prompt plus ``max_tokens`` (the model's maximum output when ``max_tokens`` is absent)."""
    candidates = [(v, KEY_LIMIT_ADVICE) for v in (key_remaining,) if v is not None]
    candidates += [(v, PURCHASE_ADVICE) for v in (balance,) if v is not None]
    if not candidates or model is None:
        return None
    remaining, advice = min(candidates, key=lambda c: c[0])
    requested = _requested_tokens(body, model, prompt_tokens)
    priced = price_usage(model, prompt_tokens, 1)
    prompt_cost = priced["cost_details"]["upstream_inference_prompt_cost"]
    per_token = priced["cost_details"]["upstream_inference_completions_cost"]
    if remaining < 0:  # a negative balance refuses even free models
        affordable = 0
    elif per_token <= 0:
        return None
    else:
        affordable = max(0, math.floor((remaining - prompt_cost) / per_token))
    if requested <= affordable:
        return None
    return json_wire(402, insufficient_credits_document(requested, affordable, advice))
