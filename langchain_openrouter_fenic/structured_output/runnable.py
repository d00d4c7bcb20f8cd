"""The structured-output runnable: request pieces per method, and the chain around them.

``ChatOpenRouter.with_structured_output`` delegates to :func:`with_structured_output` here. The
pieces, each its own pure module:

- ``_structured_strategy``: which method (``json_schema`` or a forced tool) the model and the
  routing allow — :func:`choose_strategy`, :func:`allowed_endpoints`, :func:`needs_endpoint_check`;
- ``_structured_schema``: the user's schema normalised and made strict-mode valid;
- ``_structured_parsers``: the reply read back, every failure an ``OutputParserException`` that
  quotes the raw text and names the provider.

This module builds the request pieces per method and assembles the LangChain runnable:
``llm.bind(...) | parser``, the ``include_raw`` map, and the one-time recovery from a 404 "No
endpoints found that can handle the requested parameters" to a forced tool call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough

from ..catalog.model_ids import parse_model_id
from ..errors import (
    ModelNotFoundError,
    NoEndpointsForParametersError,
    OpenRouterError,
    StructuredOutputUnsupportedError,
)
from ..routing import manual_thinking
from .deferred import defer, in_running_loop
from .parsers import StructuredReplyError, parse_json_reply, parse_tool_reply
from .schema import (
    OutputSchema,
    normalize_schema,
    sanitize_schema_name,
    to_strict_json_schema,
)
from .strategy import (
    StrategyDecision,
    allowed_endpoints,
    can_force_tools,
    choose_strategy,
    decide_strategy,
    needs_endpoint_check,
    routing_restrictions,
)

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

    from ..catalog import EndpointInfo, ModelInfo
    from ..chat_models import ChatOpenRouter
    from ..routing import Profile

__all__ = [
    "ForcedMethod",
    "OutputSchema",
    "StrategyDecision",
    "StructuredReplyError",
    "allowed_endpoints",
    "choose_strategy",
    "decide_strategy",
    "forced_tool_request",
    "json_mode_request",
    "needs_endpoint_check",
    "normalize_schema",
    "parse_json_reply",
    "parse_tool_reply",
    "response_format_request",
    "routing_restrictions",
    "sanitize_schema_name",
    "to_strict_json_schema",
    "with_structured_output",
]

logger = logging.getLogger(__name__)

ForcedMethod = Literal["json_schema", "function_calling", "json_mode"]

#: what a forced ``method`` needs the model to list in ``supported_parameters``
_NEEDS: dict[str, tuple[str, ...]] = {
    "json_schema": ("structured_outputs",),
    "function_calling": ("tools", "tool_choice"),
    "json_mode": ("response_format",),
}


# --------------------------------------------------------------------------------------------
# request pieces (pure)


def response_format_request(schema: OutputSchema, *, strict: bool = True) -> dict[str, Any]:
    """The request keys of the ``json_schema`` strategy: ``response_format`` naming the schema."""
    json_schema = to_strict_json_schema(schema.json_schema) if strict else dict(schema.json_schema)
    spec: dict[str, Any] = {"name": schema.name, "schema": json_schema, "strict": strict}
    if schema.description:
        spec["description"] = schema.description
    return {"response_format": {"type": "json_schema", "json_schema": spec}}


def forced_tool_request(schema: OutputSchema, *, strict: bool = True) -> dict[str, Any]:
    """The request keys of the forced-tool strategy: ONE function tool, forced, not parallel."""
    parameters = to_strict_json_schema(schema.json_schema) if strict else dict(schema.json_schema)
    function: dict[str, Any] = {"name": schema.name, "parameters": parameters}
    if schema.description:
        function["description"] = schema.description
    if strict:
        function["strict"] = True
    return {
        "tools": [{"type": "function", "function": function}],
        "tool_choice": {"type": "function", "function": {"name": schema.name}},
        "parallel_tool_calls": False,
    }


def json_mode_request() -> dict[str, Any]:
    """The request keys of json_mode: valid JSON, schema not enforced."""
    return {"response_format": {"type": "json_object"}}


# --------------------------------------------------------------------------------------------
# the runnable


def with_structured_output(
    llm: ChatOpenRouter,
    schema: dict[str, Any] | type | None,
    *,
    method: ForcedMethod | None = None,
    include_raw: bool = False,
    strict: bool | None = None,
    strict_capabilities: bool = True,
) -> Runnable[LanguageModelInput, Any]:
    """A runnable that returns ``schema``-shaped output from ``llm`` (see SPEC §4).

    Args:
        llm: the ChatOpenRouter to call.
        schema: a Pydantic class (result: an instance), a TypedDict, a JSON schema or an OpenAI
            function/tool dict (result: a dict). May be None only with ``method="json_mode"``.
        method: None chooses from the catalog and the active profile; ``"json_schema"``,
            ``"function_calling"`` or ``"json_mode"`` forces one.
        include_raw: return ``{"raw": AIMessage, "parsed": ..., "parsing_error": ...}``; a reply
            that cannot be parsed then gives ``parsed=None`` instead of raising.
        strict: False sends the schema as given, without strict mode; None/True make it strict.
        strict_capabilities: False skips the catalog check of a forced ``method`` (and does not
            send ``provider.require_parameters``), for when the catalog is known to be wrong.

    The choice is made here when the catalog data is at hand. Inside a running event loop
    without it (nothing in memory yet), the choice is deferred to the runnable's first call,
    where ``ainvoke`` / ``astream`` await the catalog instead of blocking the loop: made once,
    before any chat request, with the same errors.

    Raises:
        StructuredOutputUnsupportedError: the model (or the providers the routing allows)
            supports no strategy, or a forced ``method`` it does not list — before any request.
        ValueError: an unusable schema, ``strict`` with json_mode, or a preset alone
            (``@preset/slug``) without a ``method``.
    """
    if method is not None and method not in _NEEDS:
        raise ValueError(
            f"with_structured_output: unknown method {method!r}; use None (chosen from the "
            "catalog), 'json_schema', 'function_calling' or 'json_mode'."
        )
    output = _normalize(schema, method)
    if strict is not None and method == "json_mode":
        raise ValueError("with_structured_output: `strict` does not apply to method='json_mode'.")
    ref = parse_model_id(llm.model)
    plan = _Plan(
        llm,
        output,
        method,
        strict=strict is not False,
        include_raw=include_raw,
        # a request's `provider` replaces a preset's whole `provider` object: never send one
        require_parameters=strict_capabilities and ref.preset is None,
    )
    if ref.model is None:  # a preset alone: no catalog record to check or choose from
        if method is None:
            raise ValueError(_preset_needs_a_method(llm.model))
        return plan.pipeline(method)
    if method is not None and not strict_capabilities:
        return plan.pipeline(method)
    if in_running_loop() and not plan.at_hand():
        return defer(plan.decide, plan.adecide)
    return plan.decide()


@dataclass(frozen=True)
class _Plan:
    """Everything ``with_structured_output`` was given; the decision needs only the catalog."""

    llm: ChatOpenRouter
    output: OutputSchema | None
    method: ForcedMethod | None
    strict: bool
    include_raw: bool
    require_parameters: bool

    def at_hand(self) -> bool:
        """Whether deciding now needs no I/O (the record, and endpoints if they can matter)."""
        info = self.llm._model_info_at_hand()
        if info is None:
            return False
        if self.method is not None or not self._endpoints_matter(info):
            return True
        return self.llm.catalog.peek_endpoints(info.id) is not None

    def decide(self) -> Runnable[LanguageModelInput, Any]:
        info = _model_info(self.llm)
        fallbacks = [self.llm.catalog.get(m) for m in self._fallback_ids()]
        return self._build(info, fallbacks, self.llm.catalog.endpoints)

    async def adecide(self) -> Runnable[LanguageModelInput, Any]:
        info = await _amodel_info(self.llm)
        fallbacks = [await self.llm.catalog.aget(m) for m in self._fallback_ids()]
        if self.method is not None or not self._endpoints_matter(info):
            return self._build(info, fallbacks, None)
        try:
            endpoints = await self.llm.catalog.aendpoints(info.id)
        except Exception as exc:  # decide_strategy reports it and uses the model-level rule
            return self._build(info, fallbacks, partial(_raise, exc))
        return self._build(info, fallbacks, lambda _model_id: endpoints)

    def _fallback_ids(self) -> tuple[str, ...]:
        """The profile's fallback ``models``: OpenRouter may serve any of them, so the method
        must suit them too (the profile's catalog check already refused unknown ids)."""
        return tuple(self.llm.active_profile.models or ())

    def _endpoints_matter(self, info: ModelInfo) -> bool:
        profile = self.llm.active_profile
        return needs_endpoint_check(info, profile.provider, profile.structured_output_strategy)

    def _build(
        self,
        info: ModelInfo,
        fallbacks: Sequence[ModelInfo],
        load_endpoints: Callable[[str], Sequence[EndpointInfo]] | None,
    ) -> Runnable[LanguageModelInput, Any]:
        profile = self.llm.active_profile
        thinking = _thinking(info, profile)
        if self.method is not None:
            _check_forced(info, self.method, thinking)
            _warn_unable_fallbacks(info, self.method, fallbacks)
            return self.pipeline(self.method)
        decision = decide_strategy(
            info,
            provider=profile.provider,
            preference=profile.structured_output_strategy,
            load_endpoints=load_endpoints,
            fallbacks=fallbacks,
            thinking=thinking,
        )
        primary = self.pipeline(decision.method)
        if decision.method == "json_schema" and decision.tools_possible:
            announce = partial(_announce_recovery, self.llm.model)
            recovery = RunnableLambda(announce, name="ToolsRecovery")
            fallback = recovery | self.pipeline("function_calling")
            # only the refusal of the parameters: a data-policy or price 404 is not helped by tools
            return primary.with_fallbacks(
                [fallback], exceptions_to_handle=(NoEndpointsForParametersError,)
            )
        return primary

    def pipeline(self, method: ForcedMethod) -> Runnable[LanguageModelInput, Any]:
        return _pipeline(
            self.llm, self.output, method, self.strict, self.include_raw, self.require_parameters
        )


def _raise(exc: Exception, _model_id: str) -> Sequence[EndpointInfo]:
    raise exc


def _preset_needs_a_method(model_id: str) -> str:
    return (
        f"with_structured_output on model={model_id!r}: a preset alone keeps its model on "
        "OpenRouter's side, so the catalog cannot tell which structured-output method it "
        "supports. Pass method='json_schema', 'function_calling' or 'json_mode' (it is sent "
        "without catalog checks), or name the model too: 'author/model@preset/slug'."
    )


def _model_info(llm: ChatOpenRouter) -> ModelInfo:
    """The catalog record; when the catalog cannot be loaded, say how to build without it."""
    try:
        return llm.model_info()
    except (ModelNotFoundError, StructuredOutputUnsupportedError):
        raise
    except OpenRouterError as exc:
        raise _without_catalog(exc) from exc


async def _amodel_info(llm: ChatOpenRouter) -> ModelInfo:
    try:
        return await llm.amodel_info()
    except (ModelNotFoundError, StructuredOutputUnsupportedError):
        raise
    except OpenRouterError as exc:
        raise _without_catalog(exc) from exc


def _without_catalog(exc: OpenRouterError) -> OpenRouterError:
    hint = (
        " with_structured_output chooses its method from this catalog; to build the chain "
        "without it, pass method='json_schema' (or 'function_calling') and "
        "strict_capabilities=False."
    )
    return type(exc)(str(exc) + hint, **exc._state())


def _thinking(info: ModelInfo, profile: Profile) -> str | None:
    return manual_thinking(info.id, profile.reasoning_effort, profile.reasoning_max_tokens)


def _warn_unable_fallbacks(info: ModelInfo, method: str, fallbacks: Sequence[ModelInfo]) -> None:
    needed = _NEEDS[method]
    unable = [f.id for f in fallbacks if any(p not in f.supported_parameters for p in needed)]
    if unable:
        logger.warning(
            "with_structured_output(method=%r) for %s: fallback model(s) %s do not list %s; if "
            "OpenRouter falls back to them, no endpoint can handle the request.",
            method,
            info.id,
            ", ".join(unable),
            " and ".join(needed),
        )


def _normalize(schema: Any, method: ForcedMethod | None) -> OutputSchema | None:
    if schema is None:
        if method == "json_mode":
            return None
        raise ValueError(
            "with_structured_output: a schema is required (a Pydantic class, TypedDict or JSON "
            "schema); only method='json_mode' works without one."
        )
    return normalize_schema(schema)


def _check_forced(info: ModelInfo, method: ForcedMethod, thinking: str | None = None) -> None:
    if method == "function_calling" and thinking:
        raise StructuredOutputUnsupportedError(
            f"with_structured_output(method='function_calling') for {info.id!r}: Anthropic "
            f"rejects a forced tool call while manual thinking is on ({thinking}). Use "
            "method=None or 'json_schema'"
            + (" (the model lists structured_outputs)" if info.supports_structured_outputs else "")
            + ", build the chain from a model or profile without the thinking budget, or pass "
            "strict_capabilities=False to send it anyway."
        )
    needed = _NEEDS[method]
    missing = [p for p in needed if p not in info.supported_parameters]
    if not missing:
        return
    listed = ", ".join(sorted(info.supported_parameters)) or "nothing"
    options = _alternatives(info, method)
    raise StructuredOutputUnsupportedError(
        f"with_structured_output(method={method!r}) needs model {info.id!r} to list "
        f"{' and '.join(f'`{p}`' for p in needed)} in supported_parameters, but it does not list "
        f"{', '.join(f'`{p}`' for p in missing)} (it lists: {listed}). {options}Pass "
        "strict_capabilities=False to send it anyway."
    )


def _alternatives(info: ModelInfo, method: str) -> str:
    params = info.supported_parameters
    usable = []
    if method != "json_schema" and "structured_outputs" in params:
        usable.append("'json_schema'")
    if method != "function_calling" and can_force_tools(params):
        usable.append("'function_calling'")
    if method != "json_mode" and "response_format" in params:
        usable.append("'json_mode'")
    if not usable:
        return "It supports no other structured-output method; choose another model, or "
    return f"Use method=None (automatic) or {' / '.join(usable)}, or "


def _announce_recovery(model: str, value: Any) -> Any:
    logger.warning(
        "Structured output for %s: no endpoint accepted the response_format request (404 'No "
        "endpoints found that can handle the requested parameters'); retrying once with a forced "
        "tool call. Set structured_output_strategy='prefer_tools' to skip the failed attempt.",
        model,
    )
    return value


def _pipeline(
    llm: ChatOpenRouter,
    output: OutputSchema | None,
    method: ForcedMethod,
    strict: bool,
    include_raw: bool,
    require_parameters: bool,
) -> Runnable[LanguageModelInput, Any]:
    """``llm.bind(<request pieces>) | parser``, or the include_raw map around them."""
    parser: Runnable[Any, Any]
    if method == "function_calling":
        assert output is not None
        pieces = forced_tool_request(output, strict=strict)
        parser = RunnableLambda(partial(_parse_tool, output), name="ForcedToolParser")
    elif method == "json_schema":
        assert output is not None
        pieces = response_format_request(output, strict=strict)
        parser = RunnableLambda(partial(_parse_json, output), name="JsonSchemaParser")
    else:
        pieces = json_mode_request()
        parser = RunnableLambda(partial(_parse_json, output), name="JsonModeParser")
    trace_kwargs: dict[str, Any] = {"method": method}
    if method != "json_mode":
        trace_kwargs["strict"] = strict
    extra: dict[str, Any] = {"require_parameters": True} if require_parameters else {}
    if output is not None:
        # tracing only (LangSmith), as langchain_openai does; stripped before the request is built
        extra["ls_structured_output_format"] = {"kwargs": trace_kwargs, "schema": output.original}
    bound = llm.bind(**pieces, **extra)
    if not include_raw:
        return bound | parser
    parse_or_raise = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    parsed_none = RunnablePassthrough.assign(parsed=lambda _: None)
    with_fallback = parse_or_raise.with_fallbacks([parsed_none], exception_key="parsing_error")
    return RunnableMap(raw=bound) | with_fallback


def _parse_json(output: OutputSchema | None, message: Any) -> Any:
    return parse_json_reply(message, output)


def _parse_tool(output: OutputSchema, message: Any) -> Any:
    return parse_tool_reply(message, output)
