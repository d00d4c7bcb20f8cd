"""The emulator's catalog: model lookup, generated endpoints, prices and the ``/key`` record.

Pure functions over the catalog list (the shipped real snapshot by default), so the emulator serves
exactly the models, parameters and prices the package itself ships.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "SNAPSHOT_PATH",
    "ModelIndex",
    "default_endpoints",
    "endpoints_document",
    "key_record",
    "load_snapshot_catalog",
    "price_usage",
]

SNAPSHOT_PATH = (
    Path(__file__).resolve().parents[2]
    / "langchain_openrouter_fenic"
    / "data"
    / "catalog-snapshot.json"
)

# suffixes that are models of their own (a row in /models each): `x:free` exists only if listed
_STATIC_VARIANTS = ("free", "thinking", "extended", "beta")

# the author's own inference service first, as OpenRouter lists it; others fill the 2nd/3rd slot
_FIRST_PARTY = {
    "openai": ["OpenAI", "Azure"],
    "anthropic": ["Anthropic", "Amazon Bedrock", "Google"],
    "google": ["Google", "Google AI Studio"],
    "mistralai": ["Mistral"],
    "x-ai": ["xAI"],
    "deepseek": ["DeepSeek"],
    "moonshotai": ["Moonshot AI"],
    "minimax": ["Minimax"],
    "cohere": ["Cohere"],
    "amazon": ["Amazon Bedrock"],
}
_HOSTS = ["DeepInfra", "Together", "Fireworks", "Novita", "Parasail", "Groq", "WandB", "Chutes"]
_QUANTIZATIONS = ["fp8", "bf16", "fp16", "unknown"]
# OpenRouter's routing slugs where they are not the lower-cased display name
_SLUGS = {
    "Google": "google-vertex",
    "Google AI Studio": "google-ai-studio",
    "Amazon Bedrock": "amazon-bedrock",
    "Moonshot AI": "moonshotai",
}


def load_snapshot_catalog(path: Path = SNAPSHOT_PATH) -> list[dict[str, Any]]:
    """The ``data`` list of the catalog snapshot shipped in the package."""
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    data = document["data"] if isinstance(document, Mapping) else document
    return list(data)


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class ModelIndex:
    """Catalog entries by id, accepting the id forms OpenRouter accepts on known ids.

    A static variant (``:free``...) must be a row of its own; any other suffix is a routing
    variant (``:nitro``, ``:floor``, ``:exacto``, ``:online``...) served by the base id's model,
    and they stack. ``model@preset/slug`` is served by ``model`` when the preset exists;
    ``@preset/slug`` by the model the preset names. An unknown preset is refused (404; the
    exact body OpenRouter sends for it is not recorded anywhere we can read).
    """

    def __init__(
        self, catalog: Sequence[Mapping[str, Any]], presets: Mapping[str, str] | None = None
    ) -> None:
        self.entries: list[dict[str, Any]] = [dict(m) for m in catalog]
        self._by_id = {str(m["id"]): m for m in self.entries}
        self.presets: dict[str, str] = dict(presets or {})  # slug -> the model it uses

    def add(self, entry: Mapping[str, Any]) -> None:
        model = dict(entry)
        self.entries.append(model)
        self._by_id[str(model["id"])] = model

    def find(self, model_id: str) -> dict[str, Any] | None:
        """The catalog entry serving ``model_id``, or None when OpenRouter would reject the id."""
        model, at, preset = model_id.partition("@")
        if at:
            slug = preset.removeprefix("preset/")
            if slug == preset or slug not in self.presets:
                return None
            model = model or self.presets[slug]
        return self._find(model)

    def _find(self, model_id: str) -> dict[str, Any] | None:
        if model_id in self._by_id:
            return self._by_id[model_id]
        base, colon, variant = model_id.rpartition(":")
        if not colon or "/" not in base or variant in _STATIC_VARIANTS:
            return None
        return self._find(base)

    def __contains__(self, model_id: object) -> bool:
        return isinstance(model_id, str) and self.find(model_id) is not None


def _provider_names(model_id: str) -> list[str]:
    author = model_id.split("/", 1)[0]
    seed = _digest(model_id)
    names = list(_FIRST_PARTY.get(author, []))
    count = 2 + seed % 2
    offset = seed % len(_HOSTS)
    for step in range(len(_HOSTS)):
        if len(names) >= count:
            break
        candidate = _HOSTS[(offset + step) % len(_HOSTS)]
        if candidate not in names:
            names.append(candidate)
    return names[:count]


def default_endpoints(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """2-3 plausible, deterministic provider endpoints for one catalog entry.

    Every endpoint carries the model's own ``supported_parameters`` and prices, so clients that
    intersect endpoint capabilities see the catalog's answer.
    """
    model_id = str(model["id"])
    top = model.get("top_provider") or {}
    context = int(top.get("context_length") or model.get("context_length") or 8192)
    pricing = {
        k: v for k, v in (model.get("pricing") or {}).items() if k in ("prompt", "completion")
    }
    endpoints = []
    for position, provider in enumerate(_provider_names(model_id)):
        seed = _digest(f"{model_id}|{provider}")
        quantization = (
            None
            if provider in _FIRST_PARTY.get(model_id.split("/")[0], [])
            else (_QUANTIZATIONS[seed % len(_QUANTIZATIONS)])
        )
        slug = _SLUGS.get(provider, provider.lower().replace(" ", "-"))
        tag = slug + (f"/{quantization}" if quantization else "")
        endpoints.append(
            {
                "name": f"{provider} | {model_id}",
                "model_id": model_id,
                "model_name": model.get("name", model_id),
                "context_length": context,
                "pricing": dict(pricing),
                "provider_name": provider,
                "tag": tag,
                "quantization": quantization,
                "max_completion_tokens": top.get("max_completion_tokens"),
                "max_prompt_tokens": None,
                "supported_parameters": list(model.get("supported_parameters") or []),
                "status": 0,
                "uptime_last_5m": 100.0 - position * 0.5,
                "uptime_last_30m": round(99.9 - (seed % 50) / 10, 1),
                "uptime_last_1d": round(99.5 - (seed % 30) / 10, 1),
                "supports_implicit_caching": provider in ("OpenAI", "Google", "DeepSeek"),
                "latency_last_30m": None,
                "throughput_last_30m": None,
            }
        )
    return endpoints


def endpoints_document(model: Mapping[str, Any], endpoints: list[dict[str, Any]]) -> dict[str, Any]:
    """The body of ``GET /models/{author}/{slug}/endpoints``."""
    return {
        "data": {
            "id": model["id"],
            "name": model.get("name", model["id"]),
            "created": model.get("created"),
            "description": model.get("description", ""),
            "architecture": model.get("architecture", {}),
            "endpoints": endpoints,
        }
    }


def _price(pricing: Mapping[str, Any], key: str) -> float:
    try:
        return max(
            0.0, float(pricing.get(key, 0) or 0)
        )  # routers list "-1": billed as the routed model
    except (TypeError, ValueError):
        return 0.0


def _round(value: float) -> float:
    return float(f"{value:.10g}")  # avoid float noise like 4.0000000000000003e-05 on the wire


def price_usage(
    model: Mapping[str, Any] | None, prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """``cost`` and ``cost_details`` for a call, from the catalog's per-token string prices."""
    pricing = (model or {}).get("pricing") or {}
    prompt_cost = _round(prompt_tokens * _price(pricing, "prompt"))
    completion_cost = _round(completion_tokens * _price(pricing, "completion"))
    cost = _round(prompt_cost + completion_cost)
    return {
        "cost": cost,
        "cost_details": {
            "upstream_inference_cost": cost,
            "upstream_inference_prompt_cost": prompt_cost,
            "upstream_inference_completions_cost": completion_cost,
        },
    }


def key_record(api_key: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The body of ``GET /key`` for ``api_key`` (label shows only its ends, like OpenRouter)."""
    label = f"{api_key[:8]}...{api_key[-3:]}" if len(api_key) > 11 else "sk-or-v1-...emu"
    record: dict[str, Any] = {
        "label": label,
        "limit": None,
        "limit_reset": None,
        "limit_remaining": None,
        "include_byok_in_limit": False,
        "usage": 0.0,
        "usage_daily": 0.0,
        "usage_weekly": 0.0,
        "usage_monthly": 0.0,
        "byok_usage": 0.0,
        "byok_usage_daily": 0.0,
        "byok_usage_weekly": 0.0,
        "byok_usage_monthly": 0.0,
        "is_free_tier": False,
        "is_management_key": False,
        "is_provisioning_key": False,
        "creator_user_id": None,
        "expires_at": None,
        "rate_limit": {
            "requests": -1,
            "interval": "10s",
            "note": "This field is deprecated and safe to ignore.",
        },
    }
    record.update(overrides or {})
    return {"data": record}
