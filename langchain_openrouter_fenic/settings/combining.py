"""Combining a call with the model (:func:`combine`, the one implementation of the rule in the
package docstring), and the request body and headers of the result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..caching import response_cache_headers
from ..routing import RoutingFields, routing_body
from .fields import GROUPED, RequestSettings
from .reading import describe_validation_error

if TYPE_CHECKING:
    from ..catalog import ModelInfo
    from ..routing import Profile

__all__ = ["combine", "model_settings", "routing_profile", "settings_body", "settings_headers"]


def model_settings(values: Mapping[str, Any], profile: Profile) -> RequestSettings:
    """The model's own layer: its non-routing setting fields (``values``, already validated)
    plus the routing of the active ``profile``."""
    routing = {
        name: getattr(profile, name)
        for name in RoutingFields.model_fields
        if getattr(profile, name) is not None
    }
    own = {k: v for k, v in values.items() if k not in routing and v is not None}
    own = {k: v for k, v in own.items() if k not in RoutingFields.model_fields}
    merged = {**own, **routing}
    return RequestSettings.model_construct(_fields_set=set(merged), **merged)


def combine(base: RequestSettings, call: RequestSettings) -> RequestSettings:
    """``call`` over ``base``: the rule of the module docstring, the one implementation.

    Raises:
        ValueError: the combined ``provider`` contradicts itself (e.g. the profile's ``only``
            and the call's ``exclude`` name the same provider).
    """
    if not call.model_fields_set and None not in _values_of(base):
        return base  # most calls give no setting: nothing to combine (both layers are frozen)
    values = {name: getattr(base, name) for name in base.model_fields_set}
    for name in call.model_fields_set:
        for group in GROUPED:
            if name in group:
                for member in group:
                    values.pop(member, None)
        value = getattr(call, name)
        if name == "provider" and value is not None and values.get("provider") is not None:
            try:
                value = values["provider"].merged_with(value)
            except ValidationError as exc:
                raise ValueError(
                    "The call's provider combined with the model's is contradictory: "
                    + describe_validation_error(exc)
                ) from None
        values[name] = value
    values = {k: v for k, v in values.items() if v is not None}
    return RequestSettings.model_construct(_fields_set=set(values), **values)


def _values_of(settings: RequestSettings) -> list[Any]:
    return [getattr(settings, name) for name in settings.model_fields_set]


_SAMPLING_ORDER = (
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "top_k", "frequency_penalty",
    "presence_penalty", "repetition_penalty", "min_p", "top_a", "seed", "stop", "logit_bias",
    "logprobs", "top_logprobs",
)  # fmt: skip


def settings_body(settings: RequestSettings, info: ModelInfo | None) -> dict[str, Any]:
    """The request-body keys of ``settings`` (unset ones emit nothing); the one mapping."""
    body: dict[str, Any] = {}
    for name in _SAMPLING_ORDER:
        value = getattr(settings, name)
        if value is not None:
            body[name] = [value] if name == "stop" and isinstance(value, str) else value
    body.update(
        routing_body(
            settings.models,
            settings.reasoning_effort,
            settings.reasoning_max_tokens,
            settings.provider,
            info,
        )
    )
    if settings.user is not None:
        body["user"] = settings.user
    if settings.session_id is not None:
        body["session_id"] = settings.session_id
    if settings.trace is not None:
        body["trace"] = settings.trace.to_wire()
    if settings.request_metadata is not None:
        body["metadata"] = dict(settings.request_metadata)
    if settings.verbosity is not None:
        body["verbosity"] = settings.verbosity
    if settings.cache_control is not None:
        body["cache_control"] = dict(settings.cache_control)
    return body


def settings_headers(settings: RequestSettings) -> dict[str, str]:
    """The request headers of ``settings``: OpenRouter's response cache."""
    return response_cache_headers(
        settings.response_cache, settings.response_cache_ttl, settings.response_cache_clear
    )


def routing_profile(settings: RequestSettings, strategy: Any = None) -> Profile:
    """The routing part of ``settings`` as a ``Profile`` (for catalog checks and strategy)."""
    from ..routing import Profile

    return Profile.model_construct(
        models=settings.models,
        reasoning_effort=settings.reasoning_effort,
        reasoning_max_tokens=settings.reasoning_max_tokens,
        provider=settings.provider,
        structured_output_strategy=strategy,
    )
