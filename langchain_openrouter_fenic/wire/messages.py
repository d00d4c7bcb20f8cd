"""LangChain messages -> OpenRouter chat-completions messages (pure functions).

Prompt-caching markers go out in OpenRouter's format: a ``cache_control`` key on a content block
(text, image, file, audio; also under a standard block's ``extras``) stays on that part, and
``additional_kwargs={"cache_control": {...}}`` on a message marks its last part (a string content
becomes one text part), which is how a whole system prompt is marked.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from ..caching import check_cache_control

__all__ = ["to_openrouter_message", "to_openrouter_messages"]

_AUDIO_DOCS = "https://openrouter.ai/docs/guides/overview/multimodal/audio"

# LangChain v1 standard data blocks and their OpenRouter (OpenAI chat) form
_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/mp3": "mp3"}
_PASSTHROUGH_PART_TYPES = {"text", "image_url", "input_audio", "file", "video_url"}


def to_openrouter_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """Every message in wire form. Raises ValueError naming the message (its index and type)
    and what to change: run before any network call, so a bad history costs no request."""
    if not messages:
        raise ValueError(
            "No messages to send: invoke() needs at least one, e.g. llm.invoke('Hello') or "
            "llm.invoke([HumanMessage('Hello')])."
        )
    out = []
    answerable: set[str] = set()  # ids of the tool calls made so far
    for index, message in enumerate(messages):
        try:
            out.append(to_openrouter_message(message))
            _check_tool_result(message, answerable)
        except ValueError as exc:
            raise ValueError(f"messages[{index}] ({type(message).__name__}): {exc}") from None
    return out


def _check_tool_result(message: BaseMessage, answerable: set[str]) -> None:
    """A ToolMessage must answer a tool call of an earlier AIMessage: providers refuse a tool
    result whose call is not in the history (OpenAI and Anthropic answer 400), which is what a
    history trimmed between a call and its result sends."""
    if isinstance(message, AIMessage):
        calls = [*message.tool_calls, *message.invalid_tool_calls]
        answerable.update(str(call["id"]) for call in calls if call.get("id"))
    elif isinstance(message, ToolMessage) and message.tool_call_id not in answerable:
        made = sorted(answerable) or "none"
        raise ValueError(
            f"tool_call_id={message.tool_call_id!r} answers no tool call of an earlier AIMessage "
            f"(the calls made: {made}), and providers refuse a tool result without its call. "
            "Keep the AIMessage whose tool_calls it answers (a trimmed history must not cut "
            "between them), or drop the ToolMessage."
        )


def to_openrouter_message(message: BaseMessage) -> dict[str, Any]:
    """One LangChain message as an OpenRouter message dict."""
    if isinstance(message, SystemMessage):
        role = message.additional_kwargs.get("__openai_role__", "system")
        out: dict[str, Any] = {"role": role, "content": _some_content(message.content)}
    elif isinstance(message, HumanMessage):
        out = {"role": "user", "content": _some_content(message.content)}
    elif isinstance(message, AIMessage):
        out = _assistant(message)
    elif isinstance(message, ToolMessage):
        if not str(message.tool_call_id or "").strip():
            raise ValueError(
                "a ToolMessage needs the tool_call_id of the AI tool call it answers "
                "(ToolMessage(content=..., tool_call_id=call['id']))."
            )
        out = {
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": _tool_content(message.content),
        }
    elif isinstance(message, ChatMessage):
        out = {"role": message.role, "content": _content(message.content)}
    elif isinstance(message, FunctionMessage):
        raise ValueError(
            "FunctionMessage is the legacy OpenAI function-calling format, which OpenRouter does "
            "not accept; send a ToolMessage(content=..., tool_call_id=...) instead."
        )
    else:
        raise ValueError(
            f"Cannot send a {type(message).__name__} to OpenRouter: use SystemMessage, "
            "HumanMessage, AIMessage, ToolMessage or ChatMessage."
        )
    if message.name and out["role"] in ("user", "assistant", "system", "developer"):
        out["name"] = message.name
    marker = message.additional_kwargs.get("cache_control")
    if marker is not None:
        where = f"{type(message).__name__}.additional_kwargs"
        _mark_last_part(out, check_cache_control(marker, where), where)
    return out


def _mark_last_part(out: dict[str, Any], marker: dict[str, Any], where: str) -> None:
    """Put a message-level cache marker on its last content part, where OpenRouter reads it."""
    content = out.get("content")
    if isinstance(content, str) and content:
        out["content"] = [{"type": "text", "text": content, "cache_control": marker}]
    elif isinstance(content, list) and content:
        content[-1] = {**content[-1], "cache_control": marker}
    else:
        raise ValueError(
            f"{where}: cache_control marks the message's content, and this message has none; "
            "put the marker on a message with text or content blocks."
        )


def _check_call_ids(message: AIMessage) -> None:
    for call in [*message.tool_calls, *message.invalid_tool_calls]:
        if not str(call.get("id") or "").strip():
            raise ValueError(
                f"the tool call {call.get('name')!r} has no id. Providers pair each tool call "
                "with the ToolMessage answering it by this id: give it one (tool_calls=[{'name': "
                "..., 'args': {...}, 'id': 'call_1'}]) and the same tool_call_id to its "
                "ToolMessage."
            )


def _assistant(message: AIMessage) -> dict[str, Any]:
    _check_call_ids(message)
    tool_calls: list[dict[str, Any]] = [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["args"])},
        }
        for call in message.tool_calls
    ]
    tool_calls += [
        {
            "id": call.get("id"),
            "type": "function",
            "function": {"name": call.get("name"), "arguments": call.get("args") or ""},
        }
        for call in message.invalid_tool_calls
    ]
    content = _content(_without_reasoning_blocks(message.content))
    out: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        out["tool_calls"] = tool_calls
        if not content:
            out["content"] = None
    kwargs = message.additional_kwargs
    # reasoning must go back unmodified, so that providers can verify signatures across turns
    if kwargs.get("reasoning_details"):
        out["reasoning_details"] = kwargs["reasoning_details"]
    elif isinstance(kwargs.get("reasoning_content"), str):
        out["reasoning"] = kwargs["reasoning_content"]
    if kwargs.get("refusal"):
        out["refusal"] = kwargs["refusal"]
    return out


# assistant content blocks that other fields carry on the wire (tool_calls, reasoning)
_ASSISTANT_SKIPPED_BLOCKS = {
    "reasoning",
    "thinking",
    "redacted_thinking",
    "tool_use",
    "tool_call",
    "tool_call_chunk",
    "function_call",
    "server_tool_call",
}


def _without_reasoning_blocks(content: str | list[Any]) -> str | list[Any]:
    if isinstance(content, str):
        return content
    return [
        b
        for b in content
        if not (isinstance(b, Mapping) and b.get("type") in _ASSISTANT_SKIPPED_BLOCKS)
    ]


def _tool_content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    parts = _content(content)
    if isinstance(parts, str):
        return parts
    if all(p.get("type") == "text" and "cache_control" not in p for p in parts):
        return "".join(p["text"] for p in parts)  # marked parts must stay parts
    return parts


def _some_content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    """A user or system message's content, which may not be an empty list of parts."""
    parts = _content(content)
    if isinstance(parts, list) and not parts:
        raise ValueError(
            "the message has no content parts (an empty list, or only empty text parts); "
            "give it text, or leave the message out."
        )
    return parts


def _content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    return [_part(p) for p in content if not _is_empty_text(p)]


def _is_empty_text(part: Any) -> bool:
    return isinstance(part, Mapping) and part.get("type") == "text" and part.get("text") == ""


def _part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not isinstance(part, Mapping):
        raise ValueError(f"Unsupported message content part {part!r}: use a str or a dict.")
    kind = part.get("type")
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise ValueError(
                f"a text part needs its text as a string (got {part.get('text')!r}): "
                "{'type': 'text', 'text': 'Hello'}."
            )
        return _with_marker({"type": "text", "text": part["text"]}, part)
    if kind == "text-plain":
        return _with_marker(_plain_text_block(part), part)
    if kind in ("image", "file", "audio", "video") and _is_standard_block(part):
        return _with_marker(_standard_block(part), part)
    if kind in _PASSTHROUGH_PART_TYPES:
        return _with_marker(dict(part), part)
    if kind == "image_url" or "image_url" in part:
        return _with_marker({"type": "image_url", "image_url": part["image_url"]}, part)
    raise ValueError(
        f"Unsupported content part type {kind!r}. OpenRouter accepts text, image_url, file, "
        "input_audio and video_url parts, and LangChain's standard text-plain / image / file / "
        "audio / video blocks (with url or base64)."
    )


def _with_marker(out: dict[str, Any], part: Mapping[str, Any]) -> dict[str, Any]:
    """Keep a block's prompt-caching marker (given on the block or in its ``extras``)."""
    extras = part.get("extras")
    marker = part.get("cache_control")
    if marker is None and isinstance(extras, Mapping):
        marker = extras.get("cache_control")
    if marker is not None:
        out["cache_control"] = check_cache_control(marker, f"{part.get('type')} content block")
    return out


def _is_standard_block(part: Mapping[str, Any]) -> bool:
    return any(k in part for k in ("url", "base64", "file_id", "source_type", "data"))


def _no_file_ids(part: Mapping[str, Any]) -> None:
    if part.get("file_id"):
        raise ValueError(
            f"a {part.get('type')} block with file_id={part['file_id']!r}: file ids are not "
            "supported by OpenRouter (it has no files API, and provider file ids do not travel "
            "across providers). Send the content itself: base64=... with mime_type, or url=..."
        )


def _plain_text_block(part: Mapping[str, Any]) -> dict[str, Any]:
    """LangChain's ``text-plain`` block (a .txt / .md document) as a text part."""
    _no_file_ids(part)
    text = part.get("text")
    if text is None and part.get("base64"):
        try:
            text = base64.b64decode(part["base64"], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(
                f"a text-plain block's base64 is not UTF-8 text ({exc}); send it as a file block."
            ) from None
    if text is None and part.get("url"):
        filename = part.get("title") or "document.txt"
        return {"type": "file", "file": {"filename": filename, "file_data": part["url"]}}
    if text is None:
        raise ValueError("a text-plain block needs text, base64 or url.")
    title = part.get("title")
    return {"type": "text", "text": f"{title}\n\n{text}" if title else str(text)}


def _audio_from_url(url: str) -> tuple[str, str]:
    """A ``data:`` URL's (base64 data, mime type); OpenRouter fetches no audio URLs."""
    head, sep, data = url.partition(",")
    if url.startswith("data:") and sep and head.endswith(";base64"):
        return data, head[len("data:") : -len(";base64")]
    raise ValueError(
        f"an audio block with url={url[:80]!r}: OpenRouter takes audio as base64 only, not by "
        f"URL ({_AUDIO_DOCS}). Read the file and pass base64=... with mime_type='audio/wav' "
        "(or mp3)."
    )


def _standard_block(part: Mapping[str, Any]) -> dict[str, Any]:
    kind = part["type"]
    _no_file_ids(part)
    data = part.get("base64") if "base64" in part else part.get("data")
    mime = part.get("mime_type")
    if kind == "audio" and part.get("url") and not data:
        data, mime = _audio_from_url(str(part["url"]))
    if kind == "image":
        if part.get("url"):
            return {"type": "image_url", "image_url": {"url": part["url"]}}
        _require(mime, "mime_type", kind)
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    if kind == "audio":
        _require(mime, "mime_type", kind)
        fmt = _AUDIO_FORMATS.get(str(mime), str(mime).rsplit("/", 1)[-1])
        return {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}
    if kind == "video":
        url = part.get("url") or f"data:{mime};base64,{data}"
        return {"type": "video_url", "video_url": {"url": url}}
    # file (PDF and other documents): OpenRouter takes a data URL or a public URL as file_data
    filename = part.get("filename") or (part.get("extras") or {}).get("filename") or "document.pdf"
    if part.get("url"):
        return {"type": "file", "file": {"filename": filename, "file_data": part["url"]}}
    _require(mime, "mime_type", kind)
    return {
        "type": "file",
        "file": {"filename": filename, "file_data": f"data:{mime};base64,{data}"},
    }


def _require(value: Any, name: str, kind: str) -> None:
    if not value:
        example = {"image": "image/png", "audio": "audio/wav"}.get(kind, "application/pdf")
        raise ValueError(f"a base64 {kind} content block needs {name!r} (e.g. {example!r}).")
