"""The chat-completions request body, built from plain data (pure)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..routing import filter_supported_params, manual_thinking
from ..settings import settings_body

if TYPE_CHECKING:
    from ..catalog import ModelInfo
    from ..settings import RequestSettings

__all__ = ["build_body", "required_parameter_names"]

logger = logging.getLogger(__name__)

# what OpenRouter checks under provider.require_parameters, by body key: the endpoint must list
# one of these in supported_parameters (sampling keys are handled by filter_supported_params)
_CAPABILITY_KEYS: dict[str, tuple[str, ...]] = {
    "tools": ("tools",),
    "tool_choice": ("tool_choice",),
    "reasoning": ("reasoning", "include_reasoning", "reasoning_effort"),
    "include_reasoning": ("include_reasoning", "reasoning"),
    "reasoning_effort": ("reasoning_effort", "reasoning"),
    "web_search_options": ("web_search_options",),
    "prediction": ("prediction",),
}
# hints rather than capabilities: left out rather than refused, at this log level.
# parallel_tool_calls: only 5 of 272 tool models list it; parsing copes with several calls
_LEFT_OUT_LEVEL = {"parallel_tool_calls": logging.DEBUG, "verbosity": logging.WARNING}


def required_parameter_names(key: str, value: Any) -> tuple[str, ...] | None:
    """The ``supported_parameters`` names one of which an endpoint must list to accept the body
    key ``key`` under ``require_parameters`` (None: not a checked parameter)."""
    if key == "response_format":
        kind = value.get("type") if isinstance(value, Mapping) else None
        return ("structured_outputs",) if kind == "json_schema" else ("response_format",)
    if key in _LEFT_OUT_LEVEL:
        return (key,)
    return _CAPABILITY_KEYS.get(key)


def build_body(
    *,
    model: str,
    messages: list[dict[str, Any]],
    settings: RequestSettings,
    info: ModelInfo | None,
    model_kwargs: Mapping[str, Any],
    call_body: Mapping[str, Any],
    require_parameters: bool,
    stream: bool,
) -> dict[str, Any]:
    """The request body: the combined ``settings`` (``settings.settings_body``), then the other
    body keys of ``model_kwargs`` and of the call (``bind``, ``bind_tools``, structured output,
    ``invoke(..., x=)``), deep-merged in that order.

    With the model's catalog record (``info``): sampling parameters OpenRouter would drop anyway
    (``routing.SAMPLING_PARAMETERS``, e.g. ``temperature`` on o1) are left out when the model
    does not list them (debug log). When the body asks ``provider.require_parameters``, no other
    parameter the model does not list is sent either, since OpenRouter would answer 404 "No
    endpoints found that can handle the requested parameters": a hint is left out
    (``parallel_tool_calls`` with a debug log, ``verbosity`` with a WARNING); a capability
    (``tools``, ``response_format``, ``reasoning`` ...) is an error, raised before anything is
    sent.

    A forced tool choice while Anthropic's manual thinking is on (``routing.manual_thinking``)
    is refused here too: Anthropic rejects that request.

    Raises:
        ValueError: ``require_parameters`` with a capability the model does not list, or a
            forced tool call with manual thinking on Claude.
    """
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(settings_body(settings, info))
    _deep_update(body, model_kwargs)
    _deep_update(body, call_body)
    if require_parameters:
        body.setdefault("provider", {})["require_parameters"] = True
    _refuse_forced_tools_with_thinking(body)
    if info is not None:
        strict = (body.get("provider") or {}).get("require_parameters") is True
        body, _dropped = filter_supported_params(body, info, strict=strict)
        if strict:
            _drop_or_refuse_unlisted(body, info)
    if stream:
        body["stream"] = True
    return body


def _drop_or_refuse_unlisted(body: dict[str, Any], info: ModelInfo) -> None:
    listed = info.supported_parameters
    for key in list(body):
        names = required_parameter_names(key, body[key])
        if names is None or any(n in listed for n in names):
            continue
        if key in _LEFT_OUT_LEVEL:
            logger.log(
                _LEFT_OUT_LEVEL[key],
                "%s=%r is not sent: model %s does not list it, and with "
                "provider.require_parameters OpenRouter would find no endpoint.",
                key,
                body.pop(key),
                info.id,
            )
            continue
        raise ValueError(
            f"{key}: model {info.id!r} does not list {' or '.join(repr(n) for n in names)} in "
            "supported_parameters, and the request asks provider.require_parameters=True, so "
            "OpenRouter would answer 404 'No endpoints found that can handle the requested "
            f"parameters'. Remove {key}, choose a model that lists it, or set "
            "require_parameters=False."
        )


def _refuse_forced_tools_with_thinking(body: Mapping[str, Any]) -> None:
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, Mapping) or reasoning.get("enabled") is False:
        return
    choice = body.get("tool_choice")
    forced = choice == "required" or (
        isinstance(choice, Mapping) and choice.get("type") == "function"
    )
    thinking = manual_thinking(
        str(body.get("model")), reasoning.get("effort"), reasoning.get("max_tokens")
    )
    if forced and thinking:
        raise ValueError(
            f"tool_choice={choice!r} with {thinking}: Anthropic refuses a forced tool call while "
            "manual thinking is on. Use tool_choice='auto', drop the thinking budget for this "
            "call (reasoning_max_tokens=None), or use reasoning_effort on Claude 4.6 or later "
            "(adaptive thinking)."
        )


def _deep_update(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value
