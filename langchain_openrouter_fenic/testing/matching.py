"""Request-body matching for replays: equal as JSON, whatever the key order and spacing.

A chat request is matched on its method, URL and body. Bodies are compared as canonical JSON:
key order and whitespace never break a replay, while any change of a value does. UUIDs are
compared as ``<uuid>``: LangChain mints a random ``uuid4`` for some ids that end up in requests
(tool-call ids of few-shot examples), so the same test would never send the same bytes twice.
A body that is not JSON is compared as text. Tool descriptions are compared line by line
without indentation: they are usually docstrings, and Python 3.13 strips docstring indentation
at compile time, so a cassette recorded on 3.12 would otherwise never replay on 3.13.

:func:`json_body` is a vcrpy matcher (register it under :data:`MATCHER_NAME`); its assertion
message names the first difference, and vcrpy quotes it when a replay finds no match.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MATCHER_NAME", "canonical_body", "first_difference", "json_body"]

MATCHER_NAME = "openrouter_json_body"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SHOWN = 80  # characters of a differing value quoted in a message


def canonical_body(body: Any) -> Any:
    """The decoded JSON of a request body (UUIDs as ``<uuid>``), its text if it is not JSON."""
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    text = _UUID.sub("<uuid>", str(body))
    if not text.strip():
        return None
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return _dedent_tool_descriptions(decoded)


def _dedent_tool_descriptions(body: Any) -> Any:
    tools = body.get("tools") if isinstance(body, dict) else None
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("description"), str):
            lines = function["description"].splitlines()
            function["description"] = "\n".join(line.strip() for line in lines)
    return body


def first_difference(sent: Any, recorded: Any, where: str = "$") -> str | None:
    """Where two canonical bodies first differ (``$.messages[1].content: ...``), else None."""
    if isinstance(sent, dict) and isinstance(recorded, dict):
        for key in sorted(set(sent) | set(recorded), key=str):
            here = f"{where}.{key}"
            if key not in recorded:
                return f"{here}: sent {_show(sent[key])}, not in the recorded request"
            if key not in sent:
                return f"{here}: recorded {_show(recorded[key])}, not sent"
            found = first_difference(sent[key], recorded[key], here)
            if found:
                return found
        return None
    if isinstance(sent, list) and isinstance(recorded, list):
        for index, (a, b) in enumerate(zip(sent, recorded, strict=False)):
            found = first_difference(a, b, f"{where}[{index}]")
            if found:
                return found
        if len(sent) != len(recorded):
            return f"{where}: sent {len(sent)} items, recorded {len(recorded)}"
        return None
    if sent == recorded and type(sent) is type(recorded):
        return None
    return f"{where}: sent {_show(sent)}, recorded {_show(recorded)}"


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: ``r1`` (the request sent) and ``r2`` (a recorded one) have equal bodies."""
    difference = first_difference(canonical_body(r1.body), canonical_body(r2.body))
    if difference is not None:
        raise AssertionError(f"request bodies differ at {difference}")


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
