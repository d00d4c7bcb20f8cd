"""What a faithful client must report for a recorded OpenRouter answer, from the answer alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def sse_events(body: str) -> Iterator[dict[str, Any]]:
    for block in body.replace("\r\n", "\n").split("\n\n"):
        data = [ln[5:].lstrip() for ln in block.split("\n") if ln.startswith("data:")]
        if data and "\n".join(data).strip() != "[DONE]":
            yield json.loads("\n".join(data))


def expected_from(status: int, content_type: str, body: str) -> dict[str, Any]:
    exp: dict[str, Any] = {"status": status, "stream": "event-stream" in content_type}
    if status >= 400:
        err = json.loads(body).get("error", {})
        exp["error"] = {
            "message": err.get("message", ""),
            "provider": (err.get("metadata") or {}).get("provider_name"),
        }
        return exp
    if not exp["stream"]:
        doc = json.loads(body)
        if "error" in doc and not doc.get("choices"):
            exp["error"] = {"message": doc["error"].get("message", ""), "provider": None}
            return exp
        choice = doc["choices"][0]
        msg = choice.get("message") or {}
        content = msg.get("content")
        exp.update(
            text=content if isinstance(content, str) else "",
            tool_calls=[
                (t["function"]["name"], t["function"].get("arguments") or "")
                for t in msg.get("tool_calls") or []
            ],
            reasoning=msg.get("reasoning"),
            reasoning_details=msg.get("reasoning_details"),
            finish_reason=choice.get("finish_reason"),
            native_finish_reason=choice.get("native_finish_reason"),
            usage=doc.get("usage"),
            provider=doc.get("provider"),
            model=doc.get("model"),
            id=doc.get("id"),
        )
        return exp
    text, reasoning, tools = "", "", {}
    usage = provider = model = finish = native = gid = error = None
    for event in sse_events(body):
        provider = event.get("provider") or provider
        model = event.get("model") or model
        gid = event.get("id") or gid
        usage = event.get("usage") or usage
        error = event.get("error") or error
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            text += delta.get("content") or ""
            reasoning += delta.get("reasoning") or ""
            for call in delta.get("tool_calls") or []:
                slot = tools.setdefault(call.get("index", 0), ["", ""])
                fn = call.get("function") or {}
                slot[0] += fn.get("name") or ""
                slot[1] += fn.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
            native = choice.get("native_finish_reason") or native
    if error:
        exp["error"] = {"message": error.get("message", ""), "provider": None}
        return exp
    exp.update(
        text=text,
        tool_calls=[tuple(v) for _, v in sorted(tools.items())],
        reasoning=reasoning or None,
        reasoning_details=None,
        finish_reason=finish,
        native_finish_reason=native,
        usage=usage,
        provider=provider,
        model=model,
        id=gid,
    )
    return exp


def parsed_tool_calls(pairs: list[tuple[str, str]]) -> tuple[list[tuple[str, Any]], int]:
    """(valid (name, args) pairs, number of unparseable ones)."""
    valid, invalid = [], 0
    for name, args in pairs:
        try:
            valid.append((name, json.loads(args) if args.strip() else {}))
        except json.JSONDecodeError:
            invalid += 1
    return valid, invalid
