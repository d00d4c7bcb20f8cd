"""Structured output chosen from the live catalog (SPEC §4).

- ``strategy``: which method (``json_schema`` or a forced tool) the model and routing allow (pure);
- ``schema``: the user's schema normalised and made strict-mode valid (pure);
- ``parsers``: the reply read back; every failure an ``OutputParserException``;
- ``runnable``: the request pieces per method and the LangChain runnable around them.
"""

from .runnable import (
    ForcedMethod,
    OutputSchema,
    StrategyDecision,
    StructuredReplyError,
    allowed_endpoints,
    choose_strategy,
    decide_strategy,
    forced_tool_request,
    json_mode_request,
    needs_endpoint_check,
    normalize_schema,
    parse_json_reply,
    parse_tool_reply,
    response_format_request,
    routing_restrictions,
    sanitize_schema_name,
    to_strict_json_schema,
    with_structured_output,
)

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
