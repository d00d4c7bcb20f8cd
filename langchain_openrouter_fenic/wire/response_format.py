"""A ``response_format`` given directly (``bind``, per call, ``model_kwargs``), checked before it is
sent as ``with_structured_output`` builds its own: OpenRouter's (OpenAI's) three forms.

https://openrouter.ai/docs/guides/features/structured-outputs
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["check_response_format"]

_KINDS = ("text", "json_object", "json_schema")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EXAMPLE = (
    "{'type': 'json_schema', 'json_schema': {'name': 'answer', 'schema': {...}, 'strict': True}}"
)


def _plain(key: str) -> str:
    return key


def check_response_format(value: Any, label: Callable[[str], str] = _plain) -> None:
    """Raise ValueError naming the part of ``value`` that OpenRouter would refuse, and the fix.

    ``with_structured_output(schema)`` builds this for you, chosen from the catalog.
    """
    at = f"{label('response_format')}"
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{at}={value!r}: a dict is expected, {{'type': 'json_object'}} or {_EXAMPLE}; or "
            "use with_structured_output(schema)."
        )
    kind = value.get("type")
    if kind not in _KINDS:
        raise ValueError(f"{at}.type={kind!r}: one of {', '.join(map(repr, _KINDS))}.")
    if kind != "json_schema":
        return
    spec = value.get("json_schema")
    if not isinstance(spec, Mapping):
        raise ValueError(f"{at}.json_schema={spec!r}: missing or not a dict; give {_EXAMPLE}.")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"{at}.json_schema.name={name!r}: 1 to 64 letters, digits, '_' or '-' (e.g. 'answer')."
        )
    schema = spec.get("schema")
    if not isinstance(schema, Mapping):
        raise ValueError(
            f"{at}.json_schema.schema={schema!r}: a JSON schema (a dict) is expected, e.g. "
            "{'type': 'object', 'properties': {...}}."
        )
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise ValueError(f"{at}.json_schema.strict={strict!r}: True or False.")
    from ..structured_output.schema import check_refs  # pure; the rule of every schema

    check_refs(schema, f"{at}.json_schema.schema:")
