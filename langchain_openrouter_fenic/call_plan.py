"""What one chat call sends, decided before anything is sent: its arguments checked and combined
with the model's settings, the catalog checks they call for, the request body and how to send it.

The sync and async plans are one sequence of steps; only the catalog reads differ (``await``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from .settings import SETTING_NAMES
from .wire import messages as _messages

if TYPE_CHECKING:
    from .catalog import ModelInfo
    from .chat_models import ChatOpenRouter
    from .routing import Profile
    from .settings import CallSettings, RequestSettings
    from .wire.calls import CallOptions

__all__ = ["Plan", "Prepared", "aplan", "call_options", "check_tool_support", "plan"]

logger = logging.getLogger(__name__)

Plan = tuple[dict[str, Any], "CallOptions", "ModelInfo | None"]
"""The request body, how to send it (retries, limiter, headers), the model's record."""


class Prepared:
    """One call, checked before any network: its arguments, the combined settings, the
    messages in wire form."""

    __slots__ = ("call", "messages", "settings")

    def __init__(
        self, call: CallSettings, messages: list[dict[str, Any]], settings: RequestSettings
    ) -> None:
        self.call, self.messages, self.settings = call, messages, settings

    @property
    def changes_routing(self) -> bool:
        from .routing import RoutingFields

        return self.call.model is not None or bool(
            self.call.settings.model_fields_set & set(RoutingFields.model_fields)
        )

    @property
    def profile(self) -> Profile:
        from .settings import routing_profile

        return routing_profile(self.settings)


def plan(
    llm: ChatOpenRouter,
    messages: Sequence[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    stream: bool,
) -> Plan:
    prepared = prepare(llm, messages, stop, kwargs)
    info = _info_or_none(llm, prepared.call.model)
    _check_deferred_tool_support(llm, prepared, info)
    if info is not None and prepared.changes_routing:
        from .routing import validate_profile

        validate_profile(prepared.profile, info, llm.catalog)
    key = _routing_to_check(llm, prepared, info)
    if key is not None and info is not None:
        from .endpoint_routing import check_routing

        settings = prepared.settings
        warnings = check_routing(
            info.id, settings.provider, settings.models or (), llm.catalog.endpoints
        )
        _routing_checked(llm, key, warnings)
    return _request_body(llm, prepared, info, stream), _options(llm, prepared), info


async def aplan(
    llm: ChatOpenRouter,
    messages: Sequence[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
    stream: bool,
) -> Plan:
    prepared = prepare(llm, messages, stop, kwargs)
    info = await _ainfo_or_none(llm, prepared.call.model)
    _check_deferred_tool_support(llm, prepared, info)
    if info is not None and prepared.changes_routing:
        from .routing import check_fallback_model, validate_profile

        validate_profile(prepared.profile, info)
        for index, model_id in enumerate(prepared.profile.models or ()):
            await check_fallback_model(index, model_id, llm.catalog.aget)
    key = _routing_to_check(llm, prepared, info)
    if key is not None and info is not None:
        from .endpoint_routing import acheck_routing

        settings = prepared.settings
        warnings = await acheck_routing(
            info.id, settings.provider, settings.models or (), llm.catalog.aendpoints
        )
        _routing_checked(llm, key, warnings)
    return _request_body(llm, prepared, info, stream), _options(llm, prepared), info


def own_settings(llm: ChatOpenRouter) -> RequestSettings:
    """The model's layer of settings: its setting fields and the active profile's routing."""
    from .settings import model_settings

    return model_settings({n: getattr(llm, n) for n in SETTING_NAMES}, llm.active_profile)


def prepare(
    llm: ChatOpenRouter,
    messages: Sequence[BaseMessage],
    stop: list[str] | None,
    kwargs: dict[str, Any],
) -> Prepared:
    """Everything about a call that needs no network, checked: its arguments, combined with
    the model's settings (``settings.combine``), and the messages."""
    from .settings import combine, read_call

    call = read_call(kwargs, stop)
    if call.settings.cache_control is not None:
        from .caching import warn_if_not_automatic

        warn_if_not_automatic(call.model or llm.model, call.settings.cache_control)
    wire_messages = _messages.to_openrouter_messages(messages)
    return Prepared(call, wire_messages, combine(own_settings(llm), call.settings))


def call_options(llm: ChatOpenRouter, headers: dict[str, str] | None = None) -> CallOptions:
    from .wire.calls import CallOptions

    return CallOptions(
        max_retries=llm.max_retries,
        rate_limiter=llm.rate_limiter,
        max_rate_limit_wait=llm.max_rate_limit_wait,
        include_usage=llm.stream_usage,
        headers=headers or None,
    )


def check_tool_support(llm: ChatOpenRouter, tool_choice: Any, info: ModelInfo | None) -> None:
    """Refuse tools the model's catalog entry says no provider calls (``bind_tools``)."""
    from .errors import OpenRouterError, ToolsUnsupportedError

    if info is None:
        try:
            info = llm.model_info()
        except OpenRouterError as exc:  # no catalog: the request itself is still possible
            logger.warning("bind_tools: the catalog is unavailable (%s); not checked.", exc)
            return
    forced = tool_choice not in (None, "auto", "none")
    needed = ["tools", "tool_choice"] if forced else ["tools"]
    missing = [p for p in needed if p not in info.supported_parameters]
    if missing:
        listed = ", ".join(sorted(info.supported_parameters)) or "nothing"
        raise ToolsUnsupportedError(
            f"bind_tools: model {info.id!r} does not list {' and '.join(missing)} in its "
            f"catalog entry (it lists: {listed}), so no provider would call the tools"
            f"{' as forced by tool_choice' if missing == ['tool_choice'] else ''}. Choose a "
            "model that lists them (`python -m langchain_openrouter_fenic models --supports "
            "tools,tool_choice`), or pass strict_capabilities=False to send them anyway."
        )


def _check_deferred_tool_support(
    llm: ChatOpenRouter, prepared: Prepared, info: ModelInfo | None
) -> None:
    """The check ``bind_tools`` left to the request (it was bound inside an event loop)."""
    call = prepared.call
    if call.check_tool_support and info is not None and call.body.get("tools"):
        check_tool_support(llm, call.body.get("tool_choice"), info)


def _request_body(
    llm: ChatOpenRouter, prepared: Prepared, info: ModelInfo | None, stream: bool
) -> dict[str, Any]:
    from .wire.request import build_body

    call = prepared.call
    return build_body(
        model=call.model or llm.model,
        messages=prepared.messages,
        settings=prepared.settings,
        info=info,
        model_kwargs=llm.model_kwargs,
        call_body=call.body,
        require_parameters=call.require_parameters,
        stream=stream,
    )


def _routing_to_check(
    llm: ChatOpenRouter, prepared: Prepared, info: ModelInfo | None
) -> str | None:
    """The key of this call's routing when ``/endpoints`` can say something about it that was
    not checked yet (``endpoint_routing``: provider names, no endpoint left)."""
    from .endpoint_routing import checks_endpoints

    provider = prepared.settings.provider
    if info is None or not checks_endpoints(provider):
        return None
    assert provider is not None
    key = repr((info.id, prepared.settings.models, sorted(provider.to_wire().items())))
    return None if key in llm._routings_checked else key


def _routing_checked(llm: ChatOpenRouter, key: str, warnings: list[str]) -> None:
    for warning in warnings:
        logger.warning("%s", warning)
    llm._routings_checked.add(key)  # each routing warns once per model instance


def _options(llm: ChatOpenRouter, prepared: Prepared) -> CallOptions:
    from .settings import settings_headers

    return call_options(llm, settings_headers(prepared.settings))


def _info_or_none(llm: ChatOpenRouter, model: str | None) -> ModelInfo | None:
    """Catalog record of the model this call uses (a per-call ``model=`` override too); None
    for a preset alone, which is sent without catalog checks."""
    if _is_preset_alone(model or llm.model):
        return None
    try:
        if model is None or model == llm.model:
            return llm.model_info()
        return llm.catalog.get(model)
    except Exception as exc:
        _catalog_unavailable(exc)
        return None


async def _ainfo_or_none(llm: ChatOpenRouter, model: str | None) -> ModelInfo | None:
    if _is_preset_alone(model or llm.model):
        return None
    try:
        if model is None or model == llm.model:
            return await llm.amodel_info()
        return await llm.catalog.aget(model)
    except Exception as exc:
        _catalog_unavailable(exc)
        return None


def _is_preset_alone(model_id: str) -> bool:
    from .catalog.model_ids import parse_model_id

    return parse_model_id(model_id).model is None


def _catalog_unavailable(exc: Exception) -> None:
    """An unknown model or a bad argument is raised; an unreachable catalog is logged and the
    request goes out without catalog checks."""
    from .errors import ModelNotFoundError, OpenRouterError

    if isinstance(exc, (ModelNotFoundError, ValueError)) or not isinstance(exc, OpenRouterError):
        raise exc
    logger.warning(
        "OpenRouter model catalog unavailable (%s); sending the request without catalog checks.",
        exc,
    )
