"""OpenRouter responses -> LangChain messages (pure; shared by the sync and async paths).

The mapping is SPEC §7: content, tool calls, reasoning and ``reasoning_details``, usage with
cache and reasoning token details, cost, the serving provider, model, id and both finish
reasons. JSON bodies and SSE streams go through the same field readers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ..caching import response_cache_metadata
from . import error_mapping

__all__ = [
    "StreamAssembler",
    "afirst_chunks",
    "chain_chunks",
    "first_chunks",
    "result_from_completion",
    "usage_metadata",
]

MODEL_PROVIDER = "openrouter"
# how an error inside an HTTP 200 arrived, for its message
_IN_BODY = "an error inside an HTTP 200 answer"
_IN_STREAM = "an error chunk in the stream"
# message fields kept in additional_kwargs as sent (never dropped)
_EXTRA_MESSAGE_FIELDS = ("refusal", "annotations", "images", "audio")


def result_from_completion(doc: Any, headers: Mapping[str, str] | None = None) -> ChatResult:
    """A JSON chat completion as a ``ChatResult``; errors inside the 200 are raised."""
    if not isinstance(doc, Mapping):
        raise error_mapping.malformed_body(json.dumps(doc)[:200], 200, headers or {})
    choices = doc.get("choices") or []
    error = doc.get("error")
    if isinstance(error, Mapping) and not choices:
        raise error_mapping.from_error_payload(
            error,
            headers=headers,
            body=doc,
            generation_id=doc.get("id"),
            served_by=doc.get("provider"),
            where=_IN_BODY,
        )
    if not choices:
        raise error_mapping.from_error_payload(
            {
                "message": "The completion has no choices (the provider returned nothing)",
                "code": 502,
            },
            headers=headers,
            body=doc,
            generation_id=doc.get("id"),
            served_by=doc.get("provider"),
        )
    usage = usage_metadata(doc.get("usage"))
    generations = []
    for choice in choices:
        choice_error = choice.get("error")
        if isinstance(choice_error, Mapping):
            raise error_mapping.from_error_payload(
                choice_error,
                headers=headers,
                body=doc,
                generation_id=doc.get("id"),
                served_by=doc.get("provider"),
                where=_IN_BODY,
            )
        if choice.get("finish_reason") == "error":
            raise error_mapping.finish_reason_error(
                choice,
                headers=headers,
                body=doc,
                generation_id=doc.get("id"),
                served_by=doc.get("provider"),
            )
        message = _message(choice.get("message") or {}, doc, choice, usage, headers)
        info = {"finish_reason": choice.get("finish_reason")}
        if choice.get("logprobs") is not None:
            info["logprobs"] = choice["logprobs"]
        generations.append(ChatGeneration(message=message, generation_info=info))
    return ChatResult(generations=generations, llm_output=_llm_output(doc))


def _message(
    msg: Mapping[str, Any],
    doc: Mapping[str, Any],
    choice: Mapping[str, Any],
    usage: UsageMetadata | None,
    headers: Mapping[str, str] | None = None,
) -> AIMessage:
    additional: dict[str, Any] = {}
    if isinstance(msg.get("reasoning"), str):
        additional["reasoning_content"] = msg["reasoning"]
    if msg.get("reasoning_details"):
        additional["reasoning_details"] = msg["reasoning_details"]
    for key in _EXTRA_MESSAGE_FIELDS:
        if msg.get(key):
            additional[key] = msg[key]
    tool_calls, invalid = [], []
    for raw in msg.get("tool_calls") or []:
        fn = raw.get("function") or {}
        args_text = fn.get("arguments") or ""
        try:
            args = json.loads(args_text) if args_text.strip() else {}
        except json.JSONDecodeError as exc:
            invalid.append(
                invalid_tool_call(
                    name=fn.get("name"),
                    args=args_text,
                    id=raw.get("id"),
                    error=f"Arguments are not valid JSON: {exc}",
                )
            )
            continue
        if not isinstance(args, dict):
            invalid.append(
                invalid_tool_call(
                    name=fn.get("name"),
                    args=args_text,
                    id=raw.get("id"),
                    error="Arguments are not a JSON object",
                )
            )
            continue
        tool_calls.append(tool_call(name=fn.get("name") or "", args=args, id=raw.get("id")))
    return AIMessage(
        content=_text(msg.get("content")),
        additional_kwargs=additional,
        tool_calls=tool_calls,
        invalid_tool_calls=invalid,
        usage_metadata=usage,
        response_metadata=_response_metadata(doc, choice, headers),
        id=doc.get("id"),
    )


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some providers send parts even in chat completions
        return "".join(p.get("text") or "" for p in content if isinstance(p, Mapping))
    return ""


def _response_metadata(
    doc: Mapping[str, Any], choice: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    usage = doc.get("usage") or {}
    meta: dict[str, Any] = {
        "model_provider": MODEL_PROVIDER,
        "model_name": doc.get("model"),
        "id": doc.get("id"),
        "provider": doc.get("provider"),
        "finish_reason": choice.get("finish_reason"),
        "native_finish_reason": choice.get("native_finish_reason"),
    }
    if usage.get("cost") is not None:
        meta["cost"] = usage["cost"]
    if usage.get("cost_details") is not None:
        meta["cost_details"] = usage["cost_details"]
    if usage.get("is_byok") is not None:
        meta["is_byok"] = usage["is_byok"]
    server_tools = usage.get("server_tool_use_details") or usage.get("server_tool_use")
    if server_tools:
        meta["server_tool_use"] = server_tools
    for key in ("system_fingerprint", "service_tier", "created", "openrouter_metadata"):
        if doc.get(key) is not None:
            meta[key] = doc[key]
    if choice.get("logprobs") is not None:
        meta["logprobs"] = choice["logprobs"]
    if usage:
        meta["token_usage"] = dict(usage)
    cache = response_cache_metadata(headers)
    if cache is not None:  # OpenRouter's response cache: X-OpenRouter-Cache-* headers
        meta["response_cache"] = cache
        if cache["status"] == "HIT":
            meta["cost"] = 0.0  # a hit is free, whatever the replayed body says
    return meta


def _llm_output(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "model_name": doc.get("model"),
        "id": doc.get("id"),
        "provider": doc.get("provider"),
        "token_usage": doc.get("usage"),
    }


def usage_metadata(usage: Any) -> UsageMetadata | None:
    """OpenRouter ``usage`` as LangChain ``UsageMetadata`` (None when absent)."""
    if not isinstance(usage, Mapping) or "prompt_tokens" not in usage:
        return None
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    total = usage.get("total_tokens")
    out = UsageMetadata(
        input_tokens=prompt,
        output_tokens=completion,
        total_tokens=int(total) if total is not None else prompt + completion,
    )
    prompt_details = usage.get("prompt_tokens_details") or {}
    input_details = InputTokenDetails()
    if prompt_details.get("cached_tokens") is not None:
        input_details["cache_read"] = int(prompt_details["cached_tokens"])
    if prompt_details.get("cache_write_tokens") is not None:
        input_details["cache_creation"] = int(prompt_details["cache_write_tokens"])
    if prompt_details.get("audio_tokens"):
        input_details["audio"] = int(prompt_details["audio_tokens"])
    if input_details:
        out["input_token_details"] = input_details
    completion_details = usage.get("completion_tokens_details") or {}
    output_details = OutputTokenDetails()
    if completion_details.get("reasoning_tokens") is not None:
        output_details["reasoning"] = int(completion_details["reasoning_tokens"])
    if completion_details.get("audio_tokens"):
        output_details["audio"] = int(completion_details["audio_tokens"])
    if output_details:
        out["output_token_details"] = output_details
    return out


class StreamAssembler:
    """Turns decoded SSE events into ``ChatGenerationChunk`` s, one stream at a time.

    Text, reasoning and tool-call deltas are emitted as they come. Whatever describes the whole
    answer (model, id, provider, finish reasons, usage, cost, merged ``reasoning_details``,
    annotations) is collected and emitted once, on the closing chunk: LangChain concatenates
    string metadata when it adds chunks, so repeating it per chunk would corrupt it.
    """

    def __init__(
        self, *, include_usage: bool = True, headers: Mapping[str, str] | None = None
    ) -> None:
        self._include_usage = include_usage
        self._headers = headers or {}
        self._doc: dict[str, Any] = {}
        self._choice: dict[str, Any] = {}
        self._usage: Any = None
        self._details: list[dict[str, Any]] = []
        self._extras: dict[str, Any] = {}
        self.delivered = 0  # chunks handed out so far
        self._closing: ChatGenerationChunk | None = None

    def feed(self, event: Any) -> ChatGenerationChunk | None:
        """The chunk for one event, or None when it carries nothing to show yet."""
        if not isinstance(event, Mapping):
            raise error_mapping.malformed_body(json.dumps(event)[:200], 200, self._headers)
        for key in ("id", "model", "provider", "system_fingerprint", "service_tier", "created"):
            if event.get(key) is not None:
                self._doc[key] = event[key]
        if event.get("usage"):
            self._usage = event["usage"]
        if isinstance(event.get("error"), Mapping):
            raise self._error(event["error"], event)
        choices = event.get("choices") or []
        choice = next((c for c in choices if c.get("index", 0) == 0), None)
        if choice is None:
            return None
        for key in ("finish_reason", "native_finish_reason"):
            if choice.get(key):
                self._choice[key] = choice[key]
        if isinstance(choice.get("error"), Mapping):
            raise self._error(choice["error"], event)
        chunk = self._delta_chunk(choice.get("delta") or {})
        if choice.get("finish_reason") == "error":  # a failure that sent no error object
            raise error_mapping.finish_reason_error(
                choice,
                headers=self._headers,
                body=event,
                generation_id=self._doc.get("id"),
                served_by=self._doc.get("provider"),
                delivered=self.delivered,
            )
        if chunk is not None:
            self.delivered += 1
        return chunk

    def _error(self, error: Mapping[str, Any], event: Mapping[str, Any]) -> Exception:
        return error_mapping.from_error_payload(
            error,
            headers=self._headers,
            body=event,
            generation_id=self._doc.get("id"),
            served_by=self._doc.get("provider"),
            where=_IN_STREAM,
        )

    def _delta_chunk(self, delta: Mapping[str, Any]) -> ChatGenerationChunk | None:
        content = _text(delta.get("content"))
        additional: dict[str, Any] = {}
        if delta.get("reasoning"):
            additional["reasoning_content"] = delta["reasoning"]
        if delta.get("reasoning_details"):
            _merge_reasoning_details(self._details, delta["reasoning_details"])
        for key in _EXTRA_MESSAGE_FIELDS:
            if delta.get(key):
                value = delta[key]
                if isinstance(value, list):
                    self._extras.setdefault(key, []).extend(value)
                elif isinstance(value, str):
                    self._extras[key] = self._extras.get(key, "") + value
                else:
                    self._extras[key] = value
        calls = [
            tool_call_chunk(
                name=(t.get("function") or {}).get("name"),
                args=(t.get("function") or {}).get("arguments"),
                id=t.get("id"),
                index=t.get("index", i),
            )
            for i, t in enumerate(delta.get("tool_calls") or [])
        ]
        if not content and not additional and not calls:
            return None
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=content, additional_kwargs=additional, tool_call_chunks=calls
            )
        )

    @property
    def closed(self) -> bool:
        """The closing chunk has been made (``finish``)."""
        return self._closing is not None

    def finish(self, *, ended_with_done: bool = True) -> ChatGenerationChunk:
        """The closing chunk (metadata, usage, the merged reasoning details), once the body has
        ended; asked again, the same chunk.

        A stream is complete only when it says so, with a ``finish_reason`` or ``data: [DONE]``
        (``ended_with_done``); a body that just stops is a cut answer: ``StreamTruncatedError``.
        """
        if self._closing is None:
            if not ended_with_done and not self._choice.get("finish_reason"):
                raise error_mapping.truncated_stream(
                    self.delivered,
                    headers=self._headers,
                    generation_id=self._doc.get("id"),
                    served_by=self._doc.get("provider"),
                )
            self._closing = self._closing_chunk()
        return self._closing

    def _closing_chunk(self) -> ChatGenerationChunk:
        additional: dict[str, Any] = dict(self._extras)
        if self._details:
            additional["reasoning_details"] = self._details
        doc = dict(self._doc)
        if self._usage is not None:
            doc["usage"] = self._usage
        metadata = _response_metadata(doc, self._choice, self._headers)
        usage = usage_metadata(self._usage) if self._include_usage else None
        message = AIMessageChunk(
            content="",
            additional_kwargs=additional,
            response_metadata=metadata,
            usage_metadata=usage,
            chunk_position="last",
        )
        info: dict[str, Any] = {"finish_reason": self._choice.get("finish_reason")}
        return ChatGenerationChunk(message=message, generation_info=info)


def _merge_reasoning_details(acc: list[dict[str, Any]], deltas: Any) -> None:
    """Join streamed ``reasoning_details`` deltas per (index, type), as OpenRouter splits them."""
    for delta in deltas if isinstance(deltas, list) else []:
        if not isinstance(delta, Mapping):
            continue
        last = acc[-1] if acc else None
        same = (
            last is not None
            and last.get("index") == delta.get("index")
            and last.get("type") == delta.get("type")
        )
        if not same:
            acc.append(dict(delta))
            continue
        assert last is not None
        for key, value in delta.items():
            if key in ("text", "summary", "data") and isinstance(value, str):
                last[key] = (last.get(key) or "") + value
            elif value is not None:
                last[key] = value


def first_chunks(
    assembler: StreamAssembler, events: Iterator[Any], ended_with_done: Callable[[], bool]
) -> list[ChatGenerationChunk]:
    """The stream's first chunk; a stream that ends before one is judged here (``finish``), so
    that a cut or failed stream is raised while nothing has been delivered (and so retried)."""
    for event in events:
        chunk = assembler.feed(event)
        if chunk is not None:
            return [chunk]
    assembler.finish(ended_with_done=ended_with_done())
    return []


async def afirst_chunks(
    assembler: StreamAssembler, events: AsyncIterator[Any], ended_with_done: Callable[[], bool]
) -> list[ChatGenerationChunk]:
    """``first_chunks`` over an async iterator."""
    async for event in events:
        chunk = assembler.feed(event)
        if chunk is not None:
            return [chunk]
    assembler.finish(ended_with_done=ended_with_done())
    return []


def chain_chunks(
    first: list[ChatGenerationChunk], rest: Iterator[ChatGenerationChunk]
) -> Iterator[ChatGenerationChunk]:
    yield from first
    yield from rest
