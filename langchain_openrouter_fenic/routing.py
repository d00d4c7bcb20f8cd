"""Typed provider routing and reasoning settings (SPEC §2), and their request-body form.

``ProviderPreferences`` and ``Profile`` are frozen pydantic models that reject unknown keys (with
a "did you mean" hint), unknown enum values, negative prices and both reasoning fields at once —
all before any network call. The wire mapping is exact and emits nothing for unset fields:

=============================================  ============================================
``Profile.models``                             ``models``
``Profile.reasoning_effort`` / ``_max_tokens``  ``reasoning.effort`` / ``reasoning.max_tokens``
``ProviderPreferences.exclude``                ``provider.ignore`` (the API's name for it)
``max_prompt_price`` / ``max_completion_price``  ``provider.max_price.prompt`` / ``.completion``
                                               (USD per MILLION tokens, numbers)
other ``ProviderPreferences`` fields            ``provider.<same name>``
=============================================  ============================================

Provider keys this model does not cover (``preferred_min_throughput``, ``max_price.request`` ...)
can still be sent through ``ChatOpenRouter(model_kwargs={"provider": {...}})``; they are merged.

Checks that need the catalog (reasoning support and efforts of the model, fallback ids) are in
:func:`validate_profile`; :func:`filter_supported_params` leaves out the sampling parameters a
model does not list.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import ModelNotFoundError

if TYPE_CHECKING:
    from .catalog import ModelInfo

__all__ = [
    "REASONING_EFFORTS",
    "SAMPLING_PARAMETERS",
    "DataCollection",
    "Profile",
    "ProviderPreferences",
    "ProviderSort",
    "Quantization",
    "ReasoningEffort",
    "StructuredOutputStrategy",
    "filter_supported_params",
    "validate_profile",
]

logger = logging.getLogger(__name__)

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
StructuredOutputStrategy = Literal["prefer_response_format", "prefer_tools"]
ProviderSort = Literal["price", "throughput", "latency", "exacto"]
Quantization = Literal[
    "int4", "int8", "fp4", "mxfp4", "nvfp4", "fp6", "fp8", "mxfp8", "fp16", "bf16", "fp32",
    "unknown",
]  # fmt: skip
DataCollection = Literal["allow", "deny"]
REASONING_EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)

#: request parameters dropped when the model does not list them (OpenRouter would ignore them,
#: or find no endpoint at all when ``provider.require_parameters`` is set)
SAMPLING_PARAMETERS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "top_a", "frequency_penalty", "presence_penalty",
    "repetition_penalty", "seed", "stop", "logit_bias", "logprobs", "top_logprobs", "max_tokens",
    "max_completion_tokens",
})  # fmt: skip
# either spelling of the output cap is accepted by a model that lists one of them
_SAME_AS = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}
# wire or guessed names -> the field to use instead
_RENAMED = {
    "ignore": "exclude",
    "max_price": "max_prompt_price / max_completion_price",
    "reasoning": "reasoning_effort or reasoning_max_tokens",
    "fallback_models": "models",
    "model": "models",
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
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_keys_only(cls, values: Any) -> Any:
        _reject_unknown_keys(cls, values)
        return values


_Price = Field(default=None, ge=0, allow_inf_nan=False)


class ProviderPreferences(_Frozen):
    """Which providers OpenRouter may route a request to, and in what order.

    See https://openrouter.ai/docs/guides/routing/provider-selection. Provider entries are
    slugs (``"anthropic"``, ``"deepinfra/turbo"``) or display names (``"DeepInfra"``).
    """

    sort: ProviderSort | None = None
    """Prefer the cheapest, fastest or lowest-latency provider (turns load balancing off)."""
    only: Sequence[str] | None = None
    """Use only these providers."""
    exclude: Sequence[str] | None = None
    """Never use these providers (sent as ``provider.ignore``)."""
    order: Sequence[str] | None = None
    """Try these providers first, in this order."""
    quantizations: Sequence[Quantization] | None = None
    """Use only endpoints serving one of these quantizations."""
    data_collection: DataCollection | None = None
    """``"deny"``: only providers that do not store or train on prompts."""
    max_prompt_price: float | None = _Price
    """Highest prompt price accepted, USD per million tokens."""
    max_completion_price: float | None = _Price
    """Highest completion price accepted, USD per million tokens."""
    allow_fallbacks: bool | None = None
    """False: only the providers in ``order``/``only``, no others as backup."""
    require_parameters: bool | None = None
    """True: only providers that support every parameter of the request."""
    zdr: bool | None = None
    """True: only zero-data-retention endpoints."""

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

    def to_wire(self) -> dict[str, Any]:
        """The ``provider`` object of the request body (empty when nothing is set)."""
        wire: dict[str, Any] = {}
        for name in ("sort", "only", "order", "quantizations", "data_collection"):
            value = getattr(self, name)
            if value is not None:
                wire[name] = list(value) if isinstance(value, tuple) else value
        if self.exclude is not None:
            wire["ignore"] = list(self.exclude)
        max_price = {
            key: price
            for key, price in (
                ("prompt", self.max_prompt_price),
                ("completion", self.max_completion_price),
            )
            if price is not None
        }
        if max_price:
            wire["max_price"] = max_price
        for name in ("allow_fallbacks", "require_parameters", "zdr"):
            if getattr(self, name) is not None:
                wire[name] = getattr(self, name)
        return wire


class Profile(_Frozen):
    """A named set of routing and reasoning settings (``ChatOpenRouter(profiles={...})``).

    ``reasoning_effort`` and ``reasoning_max_tokens`` are mutually exclusive.
    """

    models: Sequence[str] | None = None
    """Fallback model ids, tried in order by OpenRouter after the main model fails."""
    reasoning_effort: ReasoningEffort | None = None
    reasoning_max_tokens: int | None = Field(default=None, gt=0)
    provider: ProviderPreferences | None = None
    structured_output_strategy: StructuredOutputStrategy | None = None
    """None: chosen from the catalog; or prefer ``response_format`` / a forced tool call."""

    @field_validator("models", mode="after")
    @classmethod
    def _model_ids(cls, value: Sequence[str] | None) -> tuple[str, ...] | None:
        if value is not None and any(not m.strip() for m in value):
            raise ValueError("model ids must be non-empty strings, e.g. 'openai/gpt-4o-mini'")
        return tuple(value) or None if value is not None else None

    @model_validator(mode="after")
    def _one_reasoning_field(self) -> Profile:
        if self.reasoning_effort is not None and self.reasoning_max_tokens is not None:
            raise ValueError(
                "reasoning_effort and reasoning_max_tokens are mutually exclusive: set one of "
                f"them (got reasoning_effort={self.reasoning_effort!r}, "
                f"reasoning_max_tokens={self.reasoning_max_tokens})."
            )
        return self

    def to_request_body(self, info: ModelInfo | None = None) -> dict[str, Any]:
        """The request-body keys of this profile; unset fields emit nothing.

        ``info`` (the model's catalog record) only drops ``reasoning_effort="none"`` for a model
        without reasoning: a no-op there, and a parameter no endpoint lists would make
        ``require_parameters`` find none. Other mismatches are :func:`validate_profile` errors.
        """
        body: dict[str, Any] = {}
        if self.models:
            body["models"] = list(self.models)
        if self.reasoning_effort is not None:
            if not (self.reasoning_effort == "none" and info and not info.supports_reasoning):
                body["reasoning"] = {"effort": self.reasoning_effort}
        elif self.reasoning_max_tokens is not None:
            body["reasoning"] = {"max_tokens": self.reasoning_max_tokens}
        wire = self.provider.to_wire() if self.provider is not None else {}
        if wire:
            body["provider"] = wire
        return body


# --------------------------------------------------------------------------------------------
# checks against the catalog


class _Catalog(Protocol):
    def get(self, model_id: str) -> ModelInfo: ...


def validate_profile(
    profile: Profile, info: ModelInfo, catalog: _Catalog | None = None, *, name: str | None = None
) -> None:
    """Check a profile against the model's catalog entry (and fallback ids against the catalog).

    ``name`` (the profile's key in ``profiles``) prefixes the messages. Call it before the first
    request; it makes no request itself unless ``catalog`` is not loaded yet.

    Raises:
        ValueError: reasoning asked of a model without reasoning, an effort the model does not
            accept, ``reasoning_max_tokens`` where the model takes only efforts.
        ModelNotFoundError: a ``models`` id is not in the catalog (with close ids).
    """
    where = f"profiles[{name!r}]." if name else ""
    _check_reasoning(profile, info, where)
    if catalog is None:
        return
    for index, model_id in enumerate(profile.models or ()):
        try:
            catalog.get(model_id)
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(
                f"{where}models[{index}]={model_id!r}: {exc.message}", suggestions=exc.suggestions
            ) from None


def _check_reasoning(profile: Profile, info: ModelInfo, where: str) -> None:
    effort, budget = profile.reasoning_effort, profile.reasoning_max_tokens
    if effort is None and budget is None:
        return
    field = f"{where}reasoning_effort={effort!r}" if effort else f"{where}reasoning_max_tokens"
    if not info.supports_reasoning:
        if effort == "none":
            return  # asks for no reasoning: already the case
        raise ValueError(
            f"{field}: model {info.id!r} does not support reasoning (its catalog entry lists "
            "no 'reasoning' parameter). Remove the setting, or choose a model whose "
            "supported_parameters include 'reasoning'."
        )
    if effort is not None:
        allowed = _allowed_efforts(info)
        if effort not in allowed:
            why = " (it always reasons: 'none' cannot turn it off)" if effort == "none" else ""
            raise ValueError(
                f"{field}: model {info.id!r} does not accept this effort{why}; allowed values: "
                f"{_quoted(allowed)}."
            )
    elif info.reasoning_supports_max_tokens is False:
        raise ValueError(
            f"{field}={budget}: model {info.id!r} takes a reasoning effort, not a token budget; "
            f"use reasoning_effort with one of: {_quoted(_allowed_efforts(info))}."
        )


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def _allowed_efforts(info: ModelInfo) -> tuple[str, ...]:
    listed = info.reasoning_efforts or REASONING_EFFORTS
    if info.reasoning_mandatory:
        return tuple(e for e in listed if e != "none")
    return tuple(listed) if "none" in listed else (*listed, "none")


def filter_supported_params(
    params: Mapping[str, Any], info: ModelInfo
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split request parameters into (kept, dropped) by the model's ``supported_parameters``.

    Only :data:`SAMPLING_PARAMETERS` are ever dropped; other keys pass through. A model whose
    entry lists no parameters at all is not filtered (the catalog knows nothing). Values are not
    judged: ``temperature=0.0`` is kept wherever ``temperature`` is listed.
    """
    supported = info.supported_parameters
    if not supported:
        return dict(params), {}
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for key, value in params.items():
        if key not in SAMPLING_PARAMETERS or _listed(key, supported):
            kept[key] = value
        else:
            dropped[key] = value
    if dropped:
        logger.debug(
            "%s does not list %s in supported_parameters; not sent", info.id, sorted(dropped)
        )
    return kept, dropped


def _listed(key: str, supported: frozenset[str]) -> bool:
    return key in supported or _SAME_AS.get(key, "") in supported
