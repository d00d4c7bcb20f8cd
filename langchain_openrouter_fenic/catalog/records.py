"""Catalog records: OpenRouter's ``/models`` and ``/endpoints`` JSON, translated (pure).

Every reader is tolerant: any field but ``id`` may be missing, a string where a number is
expected, or malformed (the real catalog has every shape). Negative prices (``"-1"``,
OpenRouter's router models whose price depends on the model picked) are read as unknown (None).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .model_ids import aliases_of

__all__ = [
    "EndpointInfo",
    "FrozenMapping",
    "ModelInfo",
    "as_mapping",
    "estimate_cost",
    "translate_entries",
]

logger = logging.getLogger(__name__)


class FrozenMapping(Mapping[str, Any]):
    """A read-only, hashable, picklable mapping (``MappingProxyType`` is neither)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._items.items())))

    def __repr__(self) -> str:
        return f"FrozenMapping({self._items!r})"


# --------------------------------------------------------------------------------------------
# tolerant readers of OpenRouter's JSON


def _price(value: Any) -> float | None:
    """USD per token from a string or number; negative ("-1": variable, routers) -> None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and number == number else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _names(value: Any) -> frozenset[str]:
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(str(v).strip().lower() for v in value if isinstance(v, str) and v.strip())


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _modalities(arch: Mapping[str, Any], key: str, side: int) -> frozenset[str]:
    listed = _names(arch.get(key))
    if listed:
        return listed
    # older entries: only "text+image->text"
    modality = arch.get("modality")
    if isinstance(modality, str) and "->" in modality:
        return frozenset(m.strip().lower() for m in modality.split("->")[side].split("+") if m)
    return frozenset({"text"})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One catalog entry, translated. Prices are USD per token (per request/image/search where
    named); None means "not listed"."""

    id: str
    name: str = ""
    canonical_slug: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    input_modalities: frozenset[str] = frozenset({"text"})
    output_modalities: frozenset[str] = frozenset({"text"})
    prompt_price: float | None = None
    completion_price: float | None = None
    cache_read_price: float | None = None
    cache_write_price: float | None = None
    request_price: float | None = None
    image_price: float | None = None
    web_search_price: float | None = None
    internal_reasoning_price: float | None = None
    supported_parameters: frozenset[str] = frozenset()
    supports_reasoning: bool = False
    reasoning_efforts: tuple[str, ...] | None = None
    """The efforts the model accepts, when the catalog lists them (None: not listed)."""
    reasoning_default_effort: str | None = None
    reasoning_mandatory: bool = False
    reasoning_supports_max_tokens: bool | None = None
    per_request_limits: FrozenMapping | None = None
    is_moderated: bool | None = None
    created: int | None = None
    expiration_date: str | None = None
    is_router: bool = False
    """A router id (``openrouter/auto`` ...): the serving model, and so the price, varies."""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ModelInfo:
        """Translate one ``/models`` entry; any field but ``id`` may be missing or malformed."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise ValueError(f"catalog entry without an 'id': {str(raw)[:200]}")
        arch, pricing = as_mapping(raw.get("architecture")), as_mapping(raw.get("pricing"))
        top, reasoning = as_mapping(raw.get("top_provider")), as_mapping(raw.get("reasoning"))
        params = _names(raw.get("supported_parameters"))
        efforts = _names(reasoning.get("supported_efforts"))
        limits = raw.get("per_request_limits")
        default_effort = reasoning.get("default_effort")
        return cls(
            id=raw["id"],
            name=str(raw.get("name") or raw["id"]),
            canonical_slug=raw.get("canonical_slug") or None,
            # the model-level value is the largest over providers; top_provider's is one of them
            context_length=_int(raw.get("context_length")) or _int(top.get("context_length")),
            max_output_tokens=_int(top.get("max_completion_tokens"))
            or _int(as_mapping(limits).get("completion_tokens")),
            input_modalities=_modalities(arch, "input_modalities", 0),
            output_modalities=_modalities(arch, "output_modalities", 1),
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            cache_read_price=_price(pricing.get("input_cache_read")),
            cache_write_price=_price(pricing.get("input_cache_write")),
            request_price=_price(pricing.get("request")),
            image_price=_price(pricing.get("image")),
            web_search_price=_price(pricing.get("web_search")),
            internal_reasoning_price=_price(pricing.get("internal_reasoning")),
            supported_parameters=params,
            supports_reasoning=bool(
                params & {"reasoning", "include_reasoning", "reasoning_effort"} or efforts
            ),
            reasoning_efforts=tuple(sorted(efforts, key=_effort_rank)) if efforts else None,
            reasoning_default_effort=default_effort if isinstance(default_effort, str) else None,
            reasoning_mandatory=reasoning.get("mandatory") is True,
            reasoning_supports_max_tokens=_bool_or_none(reasoning.get("supports_max_tokens")),
            per_request_limits=FrozenMapping(limits) if isinstance(limits, Mapping) else None,
            is_moderated=_bool_or_none(top.get("is_moderated")),
            created=_int(raw.get("created")),
            expiration_date=raw.get("expiration_date") or None,
            is_router=arch.get("tokenizer") == "Router" or str(pricing.get("prompt")) == "-1",
        )

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.supported_parameters

    @property
    def supports_tool_choice(self) -> bool:
        return "tool_choice" in self.supported_parameters

    @property
    def supports_structured_outputs(self) -> bool:
        """``response_format: json_schema`` (the catalog's ``structured_outputs``)."""
        return "structured_outputs" in self.supported_parameters

    @property
    def supports_response_format(self) -> bool:
        """``response_format`` at all (``json_object`` at least)."""
        return "response_format" in self.supported_parameters

    @property
    def supports_temperature(self) -> bool:
        return "temperature" in self.supported_parameters

    @property
    def is_free(self) -> bool:
        return self.id.endswith(":free") or (self.prompt_price == 0 and self.completion_price == 0)


_EFFORT_ORDER = ("max", "xhigh", "high", "medium", "low", "minimal", "none")


def _effort_rank(effort: str) -> tuple[int, str]:
    return (_EFFORT_ORDER.index(effort) if effort in _EFFORT_ORDER else len(_EFFORT_ORDER), effort)


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """One provider endpoint of a model (``/models/{author}/{slug}/endpoints``)."""

    provider_name: str
    tag: str | None = None
    """The routing slug (``deepinfra/turbo``), as ``ProviderPreferences`` entries may name it."""
    name: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    max_prompt_tokens: int | None = None
    prompt_price: float | None = None
    completion_price: float | None = None
    cache_read_price: float | None = None
    request_price: float | None = None
    """USD per request (``pricing.request``), as ``provider.max_price.request`` caps it."""
    image_price: float | None = None
    """USD per image (``pricing.image``)."""
    audio_price: float | None = None
    """USD per audio unit (``pricing.audio``)."""
    supported_parameters: frozenset[str] = frozenset()
    status: int | None = None
    uptime_last_30m: float | None = None
    supports_implicit_caching: bool | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> EndpointInfo:
        if not isinstance(raw, Mapping):
            raise ValueError(f"endpoint entry is not an object: {str(raw)[:200]}")
        pricing = as_mapping(raw.get("pricing"))
        uptime = raw.get("uptime_last_30m")
        return cls(
            provider_name=str(raw.get("provider_name") or raw.get("tag") or "unknown"),
            tag=raw.get("tag") or None,
            name=raw.get("name") or None,
            quantization=raw.get("quantization") or None,
            context_length=_int(raw.get("context_length")),
            max_completion_tokens=_int(raw.get("max_completion_tokens")),
            max_prompt_tokens=_int(raw.get("max_prompt_tokens")),
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            cache_read_price=_price(pricing.get("input_cache_read")),
            request_price=_price(pricing.get("request")),
            image_price=_price(pricing.get("image")),
            audio_price=_price(pricing.get("audio")),
            supported_parameters=_names(raw.get("supported_parameters")),
            status=_int(raw.get("status")),
            uptime_last_30m=float(uptime) if isinstance(uptime, (int, float)) else None,
            supports_implicit_caching=_bool_or_none(raw.get("supports_implicit_caching")),
        )


def estimate_cost(
    info: ModelInfo,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """USD cost of one call from catalog prices, for answers without ``usage.cost``.

    ``prompt_tokens`` includes the cached reads and cache writes (OpenRouter's usage does); those
    are billed at ``input_cache_read`` / ``input_cache_write`` when listed, else at the prompt
    price. None when the model's prompt or completion price is unknown (e.g. a router).
    """
    if info.prompt_price is None or info.completion_price is None:
        return None
    cached, written = max(cached_tokens, 0), max(cache_write_tokens, 0)
    uncached = max(prompt_tokens - cached - written, 0)
    read_price = info.cache_read_price if info.cache_read_price is not None else info.prompt_price
    write_price = (
        info.cache_write_price if info.cache_write_price is not None else info.prompt_price
    )
    return (
        uncached * info.prompt_price
        + cached * read_price
        + written * write_price
        + max(completion_tokens, 0) * info.completion_price
        + (info.request_price or 0.0)
    )


def translate_entries(entries: list[Any]) -> tuple[dict[str, ModelInfo], dict[str, str]]:
    """``/models`` entries -> (records by id, canonical slug -> id); bad entries are skipped."""
    models: dict[str, ModelInfo] = {}
    for raw in entries:
        try:
            info = ModelInfo.from_api(raw)
        except ValueError as exc:
            logger.debug("Catalog entry skipped: %s", exc)
            continue
        models[info.id] = info
    return models, aliases_of((m.id, m.canonical_slug) for m in models.values())
