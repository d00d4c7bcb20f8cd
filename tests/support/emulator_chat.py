"""What the emulated OpenRouter answers to a chat request: pure functions from request to bytes.

A :class:`Completion` is decided once (:func:`plan_completion`), then rendered either as one JSON
body (:func:`completion_body`) or as SSE chunks (:func:`completion_events`), in the shapes real
OpenRouter sends (see ``../shared/openrouter-recordings``): ``gen-`` ids, the serving ``provider``,
``native_finish_reason``, ``usage.cost`` with ``cost_details``, and a final usage chunk with
``choices: []``. Everything is derived from the request so the same request gives the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tests.support.emulator_catalog import price_usage
from tests.support.emulator_schema import ValueHints, instance_for

__all__ = [
    "CREATED",
    "DEFAULT_PROVIDER",
    "ChatContext",
    "Completion",
    "ToolCall",
    "completion_body",
    "completion_events",
    "content_events",
    "dumps",
    "dumps_pretty",
    "error_chunk",
    "make_completion",
    "plan_completion",
    "prompt_tokens",
    "request_fingerprint",
    "text_of",
    "with_content",
]

CREATED = 1767225600  # fixed 2026-01-01T00:00:00Z: cassettes recorded twice must be byte-identical
DEFAULT_PROVIDER = "Emulated"
_WORD_PIECES = re.compile(r"\s*\S+")
_TOOL_PHRASES = ("use the tool", "using the tool", "call the tool", "use a tool", "use your tool")
_GENERIC_NAME_PARTS = {"tool", "tools", "function", "func", "call", "value", "result", "get", "set"}
_REASONING_FORMATS = {
    "anthropic": "anthropic-claude-v1",
    "google": "google-gemini-v1",
    "openai": "openai-responses-v1",
}


def dumps(value: Any) -> str:
    """Compact JSON with raw UTF-8, as OpenRouter writes it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ChatContext:
    """One parsed ``POST /chat/completions`` request and the catalog entry serving it."""

    body: Mapping[str, Any]
    model_id: str
    model: Mapping[str, Any] | None
    chunk_count: int | None = None
    api_key: str = ""  # the bearer key the request was sent with (echoed by Reply.key_echo)

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def fingerprint(self) -> str:
        return request_fingerprint(self.body)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # the JSON string as sent; may be invalid on purpose


@dataclass(frozen=True)
class Completion:
    """One assistant turn, independent of how it goes on the wire."""

    gen_id: str
    model: str
    provider: str
    content: str
    reasoning: str | None = None
    reasoning_details: tuple[dict[str, Any], ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    native_finish_reason: str = "stop"
    usage: dict[str, Any] = field(default_factory=dict)
    content_pieces: tuple[str, ...] = ()  # the streamed split of ``content``


def request_fingerprint(body: Mapping[str, Any]) -> str:
    """A stable hash of the request (key order does not matter)."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _alnum(seed: str, length: int) -> str:
    raw = base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()
    return re.sub(r"[^A-Za-z0-9]", "", raw)[:length]


def text_of(message: Mapping[str, Any]) -> str:
    """The text of a message whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _last_user_text(messages: Sequence[Mapping[str, Any]]) -> str:
    return next((text_of(m) for m in reversed(messages) if m.get("role") == "user"), "")


def _pieces(text: str) -> tuple[str, ...]:
    pieces = _WORD_PIECES.findall(text)
    rest = text[len("".join(pieces)) :]
    if rest and pieces:
        pieces[-1] += rest
    return tuple(pieces) if pieces else ((text,) if text else ())


def _count_tokens(text: str) -> int:
    return len(_WORD_PIECES.findall(text))


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """A deterministic token count: words of every message, 4 per message, tools by size."""
    messages = body.get("messages") or []
    words = sum(_count_tokens(text_of(m)) + 4 for m in messages if isinstance(m, Mapping))
    tools = body.get("tools")
    return words + (len(dumps(tools)) // 4 if tools else 0)


def _usage(ctx: ChatContext, completion_tokens: int, reasoning_tokens: int) -> dict[str, Any]:
    prompt = prompt_tokens(ctx.body)
    priced = price_usage(ctx.model, prompt, completion_tokens)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt + completion_tokens,
        "cost": priced["cost"],
        "is_byok": False,
        "prompt_tokens_details": {
            "cached_tokens": 0,
            "cache_write_tokens": 0,
            "audio_tokens": 0,
            "video_tokens": 0,
        },
        "cost_details": priced["cost_details"],
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "image_tokens": 0,
            "audio_tokens": 0,
        },
    }


def _reasoning_details(ctx: ChatContext, text: str) -> tuple[dict[str, Any], ...]:
    author = ctx.model_id.split("/", 1)[0]
    fmt = _REASONING_FORMATS.get(author, "unknown")
    detail: dict[str, Any] = {"type": "reasoning.text", "text": text, "format": fmt, "index": 0}
    if fmt == "anthropic-claude-v1":
        detail["signature"] = _alnum("sig" + text, 64)
    return (detail,)


def make_completion(
    ctx: ChatContext,
    *,
    content: str = "",
    reasoning: str | None = None,
    tool_calls: Sequence[tuple[str, Any]] = (),
    finish_reason: str | None = None,
    native_finish_reason: str | None = None,
    provider: str | None = None,
    usage: Mapping[str, Any] | None = None,
    hide_reasoning: bool = False,
) -> Completion:
    """A completion with the given parts; ids, usage and cost derived from the request.

    ``tool_calls`` are ``(name, arguments)`` with arguments a dict or a raw JSON string.
    ``usage`` entries replace the computed ones (e.g. ``{"prompt_tokens_details": {...}}``).
    """
    seed = ctx.fingerprint
    calls = tuple(
        ToolCall(
            id=f"call_{_alnum(f'{seed}|{i}', 24)}",
            name=name,
            arguments=args if isinstance(args, str) else dumps(args),
        )
        for i, (name, args) in enumerate(tool_calls)
    )
    finish = finish_reason or ("tool_calls" if calls else "stop")
    reasoning_tokens = _count_tokens(reasoning or "")
    completion_tokens = (
        _count_tokens(content) + reasoning_tokens + sum(len(c.arguments) // 4 + 1 for c in calls)
    )
    computed = _usage(ctx, completion_tokens, reasoning_tokens)
    computed.update(usage or {})
    shown_reasoning = None if hide_reasoning else reasoning
    return Completion(
        gen_id=f"gen-{CREATED}-{_alnum(seed, 20)}",
        model=ctx.model_id,
        provider=provider or _served_by(ctx.body),
        content=content,
        reasoning=shown_reasoning,
        reasoning_details=_reasoning_details(ctx, shown_reasoning) if shown_reasoning else (),
        tool_calls=calls,
        finish_reason=finish,
        native_finish_reason=native_finish_reason or finish,
        usage=computed,
        content_pieces=_pieces(content),
    )


def _served_by(body: Mapping[str, Any]) -> str:
    """The first provider a request pins with ``provider.only``/``order``, else the default."""
    prefs = body.get("provider")
    if isinstance(prefs, Mapping):
        for key in ("only", "order"):
            names = prefs.get(key)
            if isinstance(names, list) and names and isinstance(names[0], str):
                return names[0]
    return DEFAULT_PROVIDER


# ---- the default behaviour --------------------------------------------------------------------


def _functions(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    tools = body.get("tools") or []
    return [
        t["function"]
        for t in tools
        if isinstance(t, Mapping) and isinstance(t.get("function"), Mapping)
    ]


def _name_parts(name: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    return {p.lower() for p in re.split(r"[\s_\-.]+", spaced) if len(p) >= 4} - _GENERIC_NAME_PARTS


def _mentioned(functions: list[Mapping[str, Any]], text: str) -> Mapping[str, Any] | None:
    lowered = text.lower()
    for fn in functions:
        if str(fn.get("name", "")).lower() in lowered:
            return fn
    words = set(re.findall(r"\w+", lowered))
    return next((fn for fn in functions if _name_parts(str(fn.get("name", ""))) & words), None)


def _tool_to_call(body: Mapping[str, Any], user_text: str) -> Mapping[str, Any] | None:
    functions = _functions(body)
    choice = body.get("tool_choice")
    if not functions or choice == "none":
        return None
    if isinstance(choice, Mapping):
        wanted = (choice.get("function") or {}).get("name")
        return next((f for f in functions if f.get("name") == wanted), functions[0])
    if isinstance(choice, str) and choice not in ("auto", "required", "any"):
        return next((f for f in functions if f.get("name") == choice), None)
    mentioned = _mentioned(functions, user_text)
    if choice in ("required", "any"):
        return mentioned or functions[0]
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return None  # auto after a tool result: the model answers with the result
    asks_for_tool = any(phrase in user_text.lower() for phrase in _TOOL_PHRASES)
    return mentioned or (functions[0] if asks_for_tool else None)


def _wants_reasoning(ctx: ChatContext) -> tuple[bool, bool]:
    """(produce reasoning, hide it from the reply) for this request."""
    body = ctx.body
    setting = body.get("reasoning")
    if isinstance(setting, Mapping):
        off = setting.get("enabled") is False or setting.get("effort") == "none"
        return (not off, bool(setting.get("exclude")))
    if body.get("include_reasoning") or body.get("reasoning_effort") not in (None, "none"):
        return (True, False)
    declared = (ctx.model or {}).get("reasoning") or {}  # newer catalogs: mandatory/default_enabled
    by_default = bool(declared.get("mandatory") or declared.get("default_enabled"))
    return ("thinking" in ctx.model_id or by_default, False)


def _json_object_reply(body: Mapping[str, Any], hints_text: str) -> dict[str, Any]:
    everything = " ".join(text_of(m) for m in body.get("messages") or [] if isinstance(m, Mapping))
    keys = [k for k in ValueHints.from_text(everything).quoted if re.fullmatch(r"\w+", k)]
    if not keys:
        return {"answer": f"You said: {hints_text}".strip()}
    return {k: f"emulated {k}" for k in dict.fromkeys(keys)}


def _plain_reply(body: Mapping[str, Any], user_text: str, chunk_count: int | None) -> str:
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        return f"The tool returned: {text_of(messages[-1])}"
    words = user_text.split()[:50]
    reply = f"You said: {' '.join(words)}" if words else "Hello! How can I help you today?"
    if chunk_count:
        base = reply.split()
        reply = " ".join(base[i % len(base)] for i in range(chunk_count))
    return reply


def _apply_limits(body: Mapping[str, Any], text: str) -> tuple[str, str | None]:
    """Cut ``text`` at the first ``stop`` sequence, then at ``max_tokens`` words."""
    stops = body.get("stop")
    for stop in [stops] if isinstance(stops, str) else (stops or []):
        if stop and stop in text:
            text = text[: text.index(stop)]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    pieces = _pieces(text)
    if isinstance(limit, int) and 0 < limit < len(pieces):
        return "".join(pieces[:limit]), "length"
    return text, None


def plan_completion(ctx: ChatContext) -> Completion:
    """What OpenRouter would answer to this request, deterministically.

    Forced or mentioned tools get a call whose arguments follow the tool's schema (values taken
    from the prompt); ``response_format`` gets schema-valid JSON; reasoning is produced when the
    request asks for it or the model id says ``thinking``; ``stop`` and ``max_tokens`` are honoured.
    """
    body = ctx.body
    user_text = _last_user_text(body.get("messages") or [])
    thinks, hidden = _wants_reasoning(ctx)
    reasoning = None
    if thinks:
        topic = " ".join(user_text.split()[:12]).rstrip(".!?") or "a greeting"
        reasoning = f"The user asked: {topic}. A short, direct answer fits."
    tool = _tool_to_call(body, user_text)
    if tool is not None:
        schema = tool.get("parameters") or {"type": "object", "properties": {}}
        arguments = instance_for(schema, ValueHints.from_text(user_text))
        return make_completion(
            ctx,
            reasoning=reasoning,
            hide_reasoning=hidden,
            tool_calls=[(str(tool.get("name")), arguments)],
        )
    response_format = body.get("response_format")
    finish: str | None = None
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        content = dumps_pretty(instance_for(schema, ValueHints.from_text(user_text)))
    elif isinstance(response_format, Mapping) and response_format.get("type") == "json_object":
        content = dumps_pretty(_json_object_reply(body, user_text))
    else:
        content, finish = _apply_limits(body, _plain_reply(body, user_text, ctx.chunk_count))
    return make_completion(
        ctx, content=content, reasoning=reasoning, hide_reasoning=hidden, finish_reason=finish
    )


def dumps_pretty(value: Any) -> str:
    """JSON content as models write it (spaces after separators, so it streams in pieces)."""
    return json.dumps(value, ensure_ascii=False)


# ---- rendering --------------------------------------------------------------------------------


def _message(c: Completion) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": c.content,
        "refusal": None,
        "reasoning": c.reasoning,
    }
    if c.reasoning_details:
        message["reasoning_details"] = [dict(d) for d in c.reasoning_details]
    if c.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "index": i,
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for i, call in enumerate(c.tool_calls)
        ]
    return message


def completion_body(c: Completion, *, error: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The non-streaming ``chat.completion`` document (``error`` marks a failed choice)."""
    choice: dict[str, Any] = {
        "logprobs": None,
        "finish_reason": "error" if error else c.finish_reason,
        "native_finish_reason": "error" if error else c.native_finish_reason,
        "index": 0,
        "message": _message(c),
    }
    if error:
        choice["error"] = dict(error)
    return {
        "id": c.gen_id,
        "provider": c.provider,
        "model": c.model,
        "object": "chat.completion",
        "created": CREATED,
        "choices": [choice],
        "usage": c.usage,
    }


def _chunk(c: Completion, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": c.gen_id,
        "provider": c.provider,
        "model": c.model,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "choices": [
            {
                "index": 0,
                "delta": {"role": "assistant", **delta},
                "finish_reason": finish,
                "native_finish_reason": c.native_finish_reason if finish else None,
                "logprobs": None,
            }
        ],
    }


def _argument_pieces(arguments: str) -> list[str]:
    size = max(1, -(-len(arguments) // 4))  # about four pieces, like providers stream them
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def content_events(c: Completion) -> list[dict[str, Any]]:
    """The delta chunks before the finish chunk: reasoning, then content, then tool calls."""
    events: list[dict[str, Any]] = []
    fmt = c.reasoning_details[0].get("format") if c.reasoning_details else "unknown"
    for piece in _pieces(c.reasoning or ""):
        detail = {"type": "reasoning.text", "text": piece, "format": fmt, "index": 0}
        events.append(_chunk(c, {"content": "", "reasoning": piece, "reasoning_details": [detail]}))
    for piece in c.content_pieces:
        events.append(_chunk(c, {"content": piece}))
    for index, call in enumerate(c.tool_calls):
        opening = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(_chunk(c, {"content": None, "tool_calls": [opening]}))
        for piece in _argument_pieces(call.arguments):
            delta = {"index": index, "function": {"arguments": piece}}
            events.append(_chunk(c, {"content": None, "tool_calls": [delta]}))
    return events


def completion_events(c: Completion) -> list[dict[str, Any]]:
    """Every SSE chunk of a streamed completion, ending with the ``choices: []`` usage chunk."""
    finish = _chunk(c, {"content": ""}, c.finish_reason)
    usage = {
        "id": c.gen_id,
        "provider": c.provider,
        "model": c.model,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "choices": [],
        "usage": c.usage,
    }
    return [*content_events(c), finish, usage]


def error_chunk(c: Completion, error: Mapping[str, Any]) -> dict[str, Any]:
    """A mid-stream failure: top-level ``error`` and ``finish_reason: "error"``."""
    chunk = _chunk(c, {"content": ""}, "error")
    chunk["choices"][0]["native_finish_reason"] = "error"
    chunk["error"] = dict(error)
    return chunk


def with_content(c: Completion, content: str) -> Completion:
    """``c`` with other content (its streamed split recomputed)."""
    return replace(c, content=content, content_pieces=_pieces(content))
