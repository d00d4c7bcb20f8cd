"""The routing types (``ProviderPreferences``, ``Profile`` and their parts) and their
request-body form; see the package docstring for the wire mapping."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from ..catalog import ModelInfo

__all__ = [
    "REASONING_EFFORTS",
    "DataCollection",
    "MaxPrice",
    "PerformanceCutoffs",
    "Profile",
    "ProviderPreferences",
    "ProviderSort",
    "ProviderSortSpec",
    "Quantization",
    "ReasoningEffort",
    "RoutingFields",
    "StructuredOutputStrategy",
    "refuse_a_string",
    "refuse_bool",
    "routing_body",
]

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
StructuredOutputStrategy = Literal["prefer_response_format", "prefer_tools"]
ProviderSort = Literal["price", "throughput", "latency", "exacto"]
Quantization = Literal[
    "int4", "int8", "fp4", "mxfp4", "nvfp4", "fp6", "fp8", "mxfp8", "fp16", "bf16", "fp32",
    "unknown",
]  # fmt: skip
DataCollection = Literal["allow", "deny"]
REASONING_EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)

# wire or guessed names -> the field to use instead
_RENAMED = {
    "ignore": "exclude",
    "reasoning": "reasoning_effort or reasoning_max_tokens",
    "fallback_models": "models",
    "model": "models",
    "min_throughput": "preferred_min_throughput",
    "max_latency": "preferred_max_latency",
}


def _reject_unknown_keys(model: type[BaseModel], values: Any) -> None:
    """Name unknown keys with the field meant, before pydantic's generic "extra" error."""
    if not isinstance(values, Mapping):
        return
    fields = list(model.model_fields)
    for key in values:
        if key in fields:
            continue
        guess = _RENAMED.get(str(key)) or next(
            iter(difflib.get_close_matches(str(key), fields, n=1, cutoff=0.6)), None
        )
        hint = f" Did you mean {guess}?" if guess else ""
        raise ValueError(
            f"{model.__name__} has no field {key!r}.{hint} Its fields are: {', '.join(fields)}."
        )


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, values: Any) -> Any:
        _reject_unknown_keys(cls, values)
        return values

    def given(self) -> dict[str, Any]:
        """The fields set explicitly (None included), nested models as their own ``given()``."""
        return {
            name: value.given() if isinstance(value, _Frozen) else value
            for name, value in ((n, getattr(self, n)) for n in self.model_fields_set)
        }


_Price = Field(default=None, ge=0, allow_inf_nan=False)
_Cutoff = Field(default=None, ge=0, allow_inf_nan=False)


class ProviderSortSpec(_Frozen):
    """``provider.sort`` as an object: what to sort by, and across which models.

    https://openrouter.ai/docs/guides/routing/provider-selection
    """

    by: ProviderSort
    """``"price"``, ``"throughput"``, ``"latency"`` or ``"exacto"`` (quality-first)."""
    partition: Literal["model", "none"] | None = None
    """``"model"`` (default): sort each model's providers; ``"none"``: sort across every model
    of ``models`` together."""


class PerformanceCutoffs(_Frozen):
    """Percentile cutoffs for ``preferred_min_throughput`` / ``preferred_max_latency``.

    Every cutoff given must hold; endpoints that miss are deprioritised, not excluded.
    https://openrouter.ai/docs/guides/routing/provider-selection
    """

    p50: float | None = _Cutoff
    """Median."""
    p75: float | None = _Cutoff
    """75th percentile."""
    p90: float | None = _Cutoff
    """90th percentile."""
    p99: float | None = _Cutoff
    """99th percentile."""

    @model_validator(mode="after")
    def _at_least_one(self) -> PerformanceCutoffs:
        if all(getattr(self, p) is None for p in ("p50", "p75", "p90", "p99")):
            raise ValueError(
                "a percentile object needs at least one of p50, p75, p90, p99 (or pass a number, "
                "which means p50)."
            )
        return self


class MaxPrice(_Frozen):
    """``provider.max_price``: a hard price cap; endpoints above it are never used.

    Failing it is a 404 (``constraint_filtered``).
    https://openrouter.ai/docs/guides/routing/provider-selection
    """

    prompt: float | None = _Price
    """USD per million prompt tokens."""
    completion: float | None = _Price
    """USD per million completion tokens."""
    request: float | None = _Price
    """USD per request."""
    image: float | None = _Price
    """USD per image."""
    audio: float | None = _Price
    """USD per audio unit."""

    def to_wire(self) -> dict[str, float]:
        names = ("prompt", "completion", "request", "image", "audio")
        return {n: float(getattr(self, n)) for n in names if getattr(self, n) is not None}


# the SPEC's flat shorthands and the max_price key each stands for
_PRICE_SHORTHANDS = (("max_prompt_price", "prompt"), ("max_completion_price", "completion"))


class ProviderPreferences(_Frozen):
    """Which providers OpenRouter may route a request to, and in what order.

    OpenRouter's whole ``provider`` object; every field is documented on
    https://openrouter.ai/docs/guides/routing/provider-selection. Provider entries are slugs
    (``"anthropic"``, ``"deepinfra/turbo"``) or display names (``"DeepInfra"``). An empty list
    is the same as unset.
    """

    sort: ProviderSort | ProviderSortSpec | None = None
    """Prefer the cheapest, fastest or lowest-latency provider (turns load balancing off): a
    string, or ``{"by": ..., "partition": "model" | "none"}``.
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    only: Sequence[str] | None = None
    """Use only these providers (narrows the account's allow-list).
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    exclude: Sequence[str] | None = None
    """Never use these providers (sent as ``provider.ignore``).
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    order: Sequence[str] | None = None
    """Try these providers first, in this order (turns load balancing and sticky routing off).
    https://openrouter.ai/docs/guides/routing/provider-selection#ordering-specific-providers"""
    quantizations: Sequence[Quantization] | None = None
    """Use only endpoints serving one of these quantizations (``fp8`` also matches ``mxfp8``,
    ``fp4`` also ``mxfp4`` and ``nvfp4``).
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    data_collection: DataCollection | None = None
    """``"deny"``: only providers that do not store or train on prompts.
    https://openrouter.ai/docs/guides/routing/provider-selection#requiring-providers-to-comply-with-data-policies"""
    zdr: bool | None = None
    """True: only zero-data-retention endpoints (can only tighten the account setting).
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    enforce_distillable_text: bool | None = None
    """True: only models whose author allows distillation of their output.
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    max_price: MaxPrice | None = None
    """Hard price caps: ``prompt`` and ``completion`` in USD per million tokens, ``request``,
    ``image`` and ``audio`` per unit. https://openrouter.ai/docs/guides/routing/provider-selection"""
    max_prompt_price: float | None = _Price
    """Shorthand of ``max_price.prompt``: the highest prompt price accepted, USD per million
    tokens. https://openrouter.ai/docs/guides/routing/provider-selection"""
    max_completion_price: float | None = _Price
    """Shorthand of ``max_price.completion``: USD per million completion tokens.
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    preferred_min_throughput: float | PerformanceCutoffs | None = Field(
        default=None, ge=0, allow_inf_nan=False
    )
    """Preferred minimum throughput, tokens per second: a number (p50) or percentile cutoffs;
    slower endpoints are deprioritised, not excluded.
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    preferred_max_latency: float | PerformanceCutoffs | None = Field(
        default=None, ge=0, allow_inf_nan=False
    )
    """Preferred maximum latency (time to first token), seconds: a number (p50) or percentile
    cutoffs; slower endpoints are deprioritised, not excluded.
    https://openrouter.ai/docs/guides/routing/provider-selection"""
    allow_fallbacks: bool | None = None
    """False: only the providers in ``order``/``only``, no others as backup.
    https://openrouter.ai/docs/guides/routing/provider-selection#disabling-fallbacks"""
    require_parameters: bool | None = None
    """True: only providers that support every parameter of the request.
    https://openrouter.ai/docs/guides/routing/provider-selection#requiring-providers-to-support-all-parameters"""

    @model_validator(mode="before")
    @classmethod
    def _one_max_price(cls, values: Any) -> Any:
        """Fold ``max_prompt_price`` / ``max_completion_price`` and ``max_price`` into one."""
        if not isinstance(values, Mapping):
            return values
        raw = values.get("max_price")
        if raw is not None and not isinstance(raw, (Mapping, MaxPrice)):
            return values  # pydantic names the type error
        prices = dict(raw.given() if isinstance(raw, MaxPrice) else raw or {})
        values = dict(values)
        for flat, key in _PRICE_SHORTHANDS:
            shorthand, nested = values.get(flat), prices.get(key)
            if shorthand is not None and nested is not None and shorthand != nested:
                raise ValueError(
                    f"{flat}={shorthand!r} and max_price.{key}={nested!r} disagree: they are the "
                    f"same cap; give one of them."
                )
            if shorthand is not None:
                prices[key] = shorthand
            elif nested is not None:
                values[flat] = nested
        if prices or "max_price" in values:
            values["max_price"] = prices or None
        return values

    @field_validator("sort", mode="before")
    @classmethod
    def _sort_value(cls, value: Any) -> Any:
        if isinstance(value, str) and value not in get_args(ProviderSort):
            raise ValueError(
                f"sort={value!r}: Input should be 'price', 'throughput', 'latency' or 'exacto' "
                "(or {'by': <one of them>, 'partition': 'model' | 'none'})"
            )
        return value

    @field_validator("only", "exclude", "order", "quantizations", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        return refuse_a_string(value)

    @field_validator("only", "exclude", "order", mode="after")
    @classmethod
    def _provider_names(cls, value: Sequence[str] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        names = tuple(name.strip() for name in value)
        if any(not name for name in names):
            raise ValueError("provider names must be non-empty strings, e.g. 'anthropic'")
        return names or None  # an empty list restricts nothing: same as unset

    @field_validator("quantizations", mode="after")
    @classmethod
    def _empty_is_unset(cls, value: Sequence[str] | None) -> tuple[str, ...] | None:
        return tuple(value) or None if value is not None else None

    @model_validator(mode="after")
    def _consistent(self) -> ProviderPreferences:
        both = sorted(
            {n.lower() for n in self.only or ()} & {n.lower() for n in self.exclude or ()}
        )
        if both:
            raise ValueError(
                f"only and exclude both name {both}: a provider cannot be required and excluded; "
                "remove it from one of them."
            )
        return self

    def given(self) -> dict[str, Any]:
        """The fields set explicitly; the price shorthands folded into ``max_price``."""
        values = super().given()
        for flat, _key in _PRICE_SHORTHANDS:
            values.pop(flat, None)
        return values

    def merged_with(self, override: ProviderPreferences) -> ProviderPreferences:
        """These preferences with ``override`` applied key by key.

        A key ``override`` sets replaces this object's value for that key (lists are replaced,
        not joined); ``None`` removes it; keys it does not set are kept. ``max_price`` is merged
        the same way, price by price. The result is validated again (``only`` and ``exclude``
        may now contradict each other).
        """
        values = self.given()
        for key, value in override.given().items():
            if key == "max_price" and isinstance(value, dict):
                value = {**(values.get("max_price") or {}), **value}
            values[key] = value
        prices = {k: v for k, v in (values.pop("max_price", None) or {}).items() if v is not None}
        values = {k: v for k, v in values.items() if v is not None}
        if prices:
            values["max_price"] = prices
        return ProviderPreferences.model_validate(values)

    def to_wire(self) -> dict[str, Any]:
        """The ``provider`` object of the request body (empty when nothing is set)."""
        wire: dict[str, Any] = {}
        if isinstance(self.sort, ProviderSortSpec):
            wire["sort"] = {"by": self.sort.by}
            if self.sort.partition is not None:
                wire["sort"]["partition"] = self.sort.partition
        elif self.sort is not None:
            wire["sort"] = self.sort
        for name in ("only", "order", "quantizations", "data_collection"):
            value = getattr(self, name)
            if value is not None:
                wire[name] = list(value) if isinstance(value, tuple) else value
        if self.exclude is not None:
            wire["ignore"] = list(self.exclude)
        prices = self.max_price.to_wire() if self.max_price is not None else {}
        if prices:
            wire["max_price"] = prices
        for name in ("preferred_min_throughput", "preferred_max_latency"):
            value = getattr(self, name)
            if isinstance(value, PerformanceCutoffs):
                wire[name] = {k: float(v) for k, v in value.given().items() if v is not None}
            elif value is not None:
                wire[name] = value
        for name in ("allow_fallbacks", "require_parameters", "zdr", "enforce_distillable_text"):
            if getattr(self, name) is not None:
                wire[name] = getattr(self, name)
        return wire


class RoutingFields(BaseModel):
    """The routing settings shared by ``Profile``, ``ChatOpenRouter`` and per-call settings:
    one declaration, so each is validated the same wherever it is given."""

    model_config = ConfigDict(defer_build=True)

    models: Sequence[str] | None = None
    """Fallback model ids, tried in order by OpenRouter after the main model fails. See
    https://openrouter.ai/docs/guides/routing/model-fallbacks."""
    reasoning_effort: ReasoningEffort | None = None
    """Reasoning effort, sent as ``reasoning.effort``. See
    https://openrouter.ai/docs/guides/best-practices/reasoning-tokens."""
    reasoning_max_tokens: int | None = Field(default=None, gt=0)
    """Reasoning token budget, sent as ``reasoning.max_tokens`` (exclusive with the effort).
    https://openrouter.ai/docs/guides/best-practices/reasoning-tokens"""
    provider: ProviderPreferences | None = None
    """Provider routing: a ``ProviderPreferences`` or a dict with the same keys.
    https://openrouter.ai/docs/guides/routing/provider-selection"""

    @field_validator("models", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        return refuse_a_string(value)

    @field_validator("models", mode="after")
    @classmethod
    def _model_ids(cls, value: Sequence[str] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        from ..settings import check_model_id  # the main model's check, for each fallback

        for index, model_id in enumerate(value):
            check_model_id(model_id, f"models[{index}]")
        return tuple(value) or None

    @field_validator("reasoning_max_tokens", mode="before")
    @classmethod
    def _budget_not_a_bool(cls, value: Any) -> Any:
        return refuse_bool(value)

    @model_validator(mode="after")
    def _one_reasoning_field(self) -> Any:
        if self.reasoning_effort is not None and self.reasoning_max_tokens is not None:
            raise ValueError(
                "reasoning_effort and reasoning_max_tokens are mutually exclusive: set one of "
                f"them (got reasoning_effort={self.reasoning_effort!r}, "
                f"reasoning_max_tokens={self.reasoning_max_tokens})."
            )
        return self


def refuse_bool(value: Any) -> Any:
    """A numeric setting given True or False: pydantic would read it as 1 or 0."""
    if isinstance(value, bool):
        raise ValueError(f"a number is expected, not {value!r}")
    return value


def refuse_a_string(value: Any) -> Any:
    """A list setting given one string: pydantic's own message does not say what to write."""
    if isinstance(value, str):
        raise ValueError(f"a list is expected, not a string: write [{value!r}]")
    return value


def routing_body(
    models: Sequence[str] | None,
    reasoning_effort: str | None,
    reasoning_max_tokens: int | None,
    provider: ProviderPreferences | None,
    info: ModelInfo | None = None,
) -> dict[str, Any]:
    """The request-body keys of routing settings; unset ones emit nothing.

    ``info`` (the model's catalog record) only drops ``reasoning_effort="none"`` for a model
    without reasoning: a no-op there, and a parameter no endpoint lists would make
    ``require_parameters`` find none. Other mismatches are :func:`validate_profile` errors.
    """
    body: dict[str, Any] = {}
    if models:
        body["models"] = list(models)
    if reasoning_effort is not None:
        if not (reasoning_effort == "none" and info and not info.supports_reasoning):
            body["reasoning"] = {"effort": reasoning_effort}
    elif reasoning_max_tokens is not None:
        body["reasoning"] = {"max_tokens": reasoning_max_tokens}
    wire = provider.to_wire() if provider is not None else {}
    if wire:
        body["provider"] = wire
    return body


class Profile(_Frozen, RoutingFields):
    """A named set of routing and reasoning settings (``ChatOpenRouter(profiles={...})``).

    ``reasoning_effort`` and ``reasoning_max_tokens`` are mutually exclusive.
    """

    structured_output_strategy: StructuredOutputStrategy | None = None
    """None: chosen from the catalog; or prefer ``response_format`` / a forced tool call."""

    def to_request_body(self, info: ModelInfo | None = None) -> dict[str, Any]:
        """The request-body keys of this profile; unset fields emit nothing (see
        :func:`routing_body`)."""
        return routing_body(
            self.models, self.reasoning_effort, self.reasoning_max_tokens, self.provider, info
        )
