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
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough

from ..errors import (
    ModelNotFoundError,
    NoEndpointsError,
    OpenRouterError,
    StructuredOutputUnsupportedError,
)
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

    from ..catalog import ModelInfo
    from ..chat_models import ChatOpenRouter

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

    Raises:
        StructuredOutputUnsupportedError: the model (or the providers the routing allows)
            supports no strategy, or a forced ``method`` it does not list — before any request.
        ValueError: an unusable schema, or ``strict`` with json_mode.
    """
    if method is not None and method not in _NEEDS:
        raise ValueError(
            f"with_structured_output: unknown method {method!r}; use None (chosen from the "
            "catalog), 'json_schema', 'function_calling' or 'json_mode'."
        )
    output = _normalize(schema, method)
    if strict is not None and method == "json_mode":
        raise ValueError("with_structured_output: `strict` does not apply to method='json_mode'.")
    strict_schema = strict is not False
    require = strict_capabilities
    if method is not None:
        if strict_capabilities:
            _check_forced(_model_info(llm), method)
        return _pipeline(llm, output, method, strict_schema, include_raw, require)

    profile = llm.active_profile
    decision = decide_strategy(
        _model_info(llm),
        provider=profile.provider,
        preference=profile.structured_output_strategy,
        load_endpoints=lambda model_id: llm.catalog.endpoints(model_id),
    )
    assert output is not None  # _normalize demands a schema unless json_mode
    primary = _pipeline(llm, output, decision.method, strict_schema, include_raw, require)
    if decision.method == "json_schema" and decision.tools_possible:
        recovery = RunnableLambda(partial(_announce_recovery, llm.model), name="ToolsRecovery")
        fallback = recovery | _pipeline(
            llm, output, "function_calling", strict_schema, include_raw, require
        )
        return primary.with_fallbacks([fallback], exceptions_to_handle=(NoEndpointsError,))
    return primary


def _model_info(llm: ChatOpenRouter) -> ModelInfo:
    """The catalog record; when the catalog cannot be loaded, say how to build without it."""
    try:
        return llm.model_info()
    except (ModelNotFoundError, StructuredOutputUnsupportedError):
        raise
    except OpenRouterError as exc:
        hint = (
            " with_structured_output chooses its method from this catalog; to build the chain "
            "without it, pass method='json_schema' (or 'function_calling') and "
            "strict_capabilities=False."
        )
        raise type(exc)(str(exc) + hint, **exc._state()) from exc


def _normalize(schema: Any, method: ForcedMethod | None) -> OutputSchema | None:
    if schema is None:
        if method == "json_mode":
            return None
        raise ValueError(
            "with_structured_output: a schema is required (a Pydantic class, TypedDict or JSON "
            "schema); only method='json_mode' works without one."
        )
    return normalize_schema(schema)


def _check_forced(info: ModelInfo, method: ForcedMethod) -> None:
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
