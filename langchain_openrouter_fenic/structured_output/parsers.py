"""Reading a structured reply out of an AIMessage (pure; no I/O).

Two readers, one per strategy: :func:`parse_json_reply` for ``response_format`` replies (and
json_mode) and :func:`parse_tool_reply` for forced tool calls. Anything that is not exactly what
was asked — empty text, malformed JSON, a refusal, zero or several tool calls, another tool, a
schema mismatch — raises LangChain's ``OutputParserException``. Its message quotes the raw text
and names the provider that served the reply (``response_metadata["provider"]``), so the user can
route around a provider that keeps answering badly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import ValidationError

from .schema import OutputSchema, drop_injected_nulls

__all__ = [
    "StructuredReplyError",
    "parse_json_reply",
    "parse_tool_reply",
    "raise_on_refusal",
    "reply_text",
]

_QUOTE_MAX = 2_000  # characters of raw reply quoted in an error message
# a whole reply wrapped in a markdown fence (some providers add one even in JSON mode)
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


class StructuredReplyError(OutputParserException):
    """A structured reply that could not be read; ``provider`` names who served it.

    An ``OutputParserException`` (so LangChain's ``include_raw`` / retry parsers treat it as a
    parsing error) carrying the raw text in ``llm_output``.
    """

    def __init__(self, message: str, *, raw_text: str, provider: str | None) -> None:
        super().__init__(message, llm_output=raw_text)
        self.raw_text = raw_text
        self.provider = provider


def reply_text(message: BaseMessage) -> str:
    """The text of a reply: str content, or the text blocks of list content joined."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, Mapping) and block.get("type") in ("text", "output_text"):
            parts.append(str(block.get("text") or ""))
    return "".join(parts)


def _provider(message: BaseMessage) -> str | None:
    provider = message.response_metadata.get("provider")
    return str(provider) if provider else None


def _fail(message: BaseMessage, problem: str, raw_text: str) -> StructuredReplyError:
    provider = _provider(message)
    quoted = raw_text if len(raw_text) <= _QUOTE_MAX else raw_text[:_QUOTE_MAX] + "…"
    served = f"provider {provider!r}" if provider else "an unnamed provider"
    model = message.response_metadata.get("model_name")
    by = f" ({model} via {served})" if model else f" (served by {served})"
    advice = (
        f"If {provider!r} keeps doing this, route around it with "
        f'provider=ProviderPreferences(exclude=["{provider}"]).'
        if provider
        else "If a provider keeps doing this, exclude it with provider=ProviderPreferences("
        'exclude=["<provider>"]) (response_metadata["provider"] names it).'
    )
    return StructuredReplyError(
        f"Structured output: {problem}{by}. Raw reply: {quoted!r}. {advice}",
        raw_text=raw_text,
        provider=provider,
    )


def raise_on_refusal(message: BaseMessage) -> None:
    """Raise when the model refused (``refusal`` field / block) or a content filter stopped it."""
    refusal = message.additional_kwargs.get("refusal")
    if not refusal and isinstance(message.content, list):
        for block in message.content:
            if isinstance(block, Mapping) and block.get("type") == "refusal":
                refusal = block.get("refusal") or "(no text)"
                break
    if refusal:
        raise _fail(message, f"the model refused to answer: {refusal}", str(refusal))
    if message.response_metadata.get("finish_reason") == "content_filter":
        raise _fail(message, "the reply was stopped by a content filter", reply_text(message))


def _validate(value: Any, schema: OutputSchema, message: BaseMessage, raw_text: str) -> Any:
    value = drop_injected_nulls(value, schema.json_schema)
    if schema.pydantic_class is None:
        if not isinstance(value, dict):
            raise _fail(message, f"expected a JSON object, got {type(value).__name__}", raw_text)
        return value
    try:
        if hasattr(schema.pydantic_class, "model_validate"):
            return schema.pydantic_class.model_validate(value)
        return schema.pydantic_class.parse_obj(value)  # pydantic.v1 models
    except (ValidationError, TypeError, ValueError) as err:
        problem = f"the JSON does not match {schema.name}: {_short(err)}"
        raise _fail(message, problem, raw_text) from err


def _short(err: Exception) -> str:
    return " ".join(str(err).split())[:500]


def _unfenced(text: str) -> str:
    # strict parsing on purpose: a truncated reply must fail, not become a partial object
    match = _FENCE.match(text)
    return match.group(1) if match else text


def parse_json_reply(message: BaseMessage, schema: OutputSchema | None) -> Any:
    """Read a ``response_format`` / json_mode reply: the text must be one JSON object.

    ``schema`` None (json_mode without a schema) returns the decoded JSON as is. A JSON object
    wrapped in a markdown fence is accepted (some providers add one even in JSON mode).
    """
    raise_on_refusal(message)
    text = reply_text(message)
    if not text.strip():
        calls = len(getattr(message, "tool_calls", []) or [])
        what = f"the reply has no text ({calls} tool call(s) instead)" if calls else "empty reply"
        raise _fail(message, what, text)
    try:
        value = json.loads(_unfenced(text))
    except json.JSONDecodeError as err:
        raise _fail(message, f"the reply is not valid JSON ({_short(err)})", text) from err
    return value if schema is None else _validate(value, schema, message, text)


def parse_tool_reply(message: BaseMessage, schema: OutputSchema) -> Any:
    """Read a forced-tool reply: exactly ONE call of the tool ``schema.name``, valid arguments.

    Text only, no call, several calls or a call of another tool are errors — never a result made
    of ``None`` fields.
    """
    raise_on_refusal(message)
    calls = list(getattr(message, "tool_calls", []) or []) if isinstance(message, AIMessage) else []
    invalid = list(getattr(message, "invalid_tool_calls", []) or [])
    total = len(calls) + len(invalid)
    if total == 0:
        text = reply_text(message)
        what = "is text, not a" if text.strip() else "has no text and no"
        raise _fail(message, f"the reply {what} call of the tool {schema.name!r}", text)
    if total > 1:
        names = [c.get("name") for c in calls] + [c.get("name") for c in invalid]
        raw = json.dumps([_raw_call(c) for c in calls] + [_raw_call(c) for c in invalid])
        raise _fail(message, f"expected ONE call of {schema.name!r}, got {total}: {names}", raw)
    call = calls[0] if calls else invalid[0]
    raw = _raw_call(call)["arguments"]
    if call.get("name") != schema.name:
        raise _fail(message, f"the model called {call.get('name')!r}, not {schema.name!r}", raw)
    if invalid:
        problem = f"the arguments of {schema.name!r} are not valid JSON ({invalid[0].get('error')})"
        raise _fail(message, problem, raw)
    return _validate(calls[0]["args"], schema, message, raw)


def _raw_call(call: Mapping[str, Any]) -> dict[str, Any]:
    if "args" in call and not isinstance(call.get("args"), str):
        arguments = json.dumps(call["args"])
    else:
        arguments = str(call.get("args") or "")
    return {"name": call.get("name"), "arguments": arguments}
