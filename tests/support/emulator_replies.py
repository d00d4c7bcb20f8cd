"""Scripted emulator replies: real OpenRouter answers and faults, as values tests enqueue.

A :class:`Reply` turns the request it answers (a :class:`ChatContext`, or None for GET routes) into
a :class:`Wire`: status, headers and body parts, plus where to cut the connection. Replies that
carry a completion (``text``, ``tool_call``, ``mid_stream_error``...) follow the request's
``stream`` flag, so one script serves ``invoke`` and ``stream`` alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from email.utils import formatdate
from typing import Any

from tests.support.emulator_chat import (
    ChatContext,
    Completion,
    completion_body,
    completion_events,
    content_events,
    dumps,
    error_chunk,
    make_completion,
    plan_completion,
    with_content,
)

__all__ = [
    "DOCUMENTED_ERROR_STATUSES",
    "KEY_LIMIT_ADVICE",
    "PURCHASE_ADVICE",
    "USER_ID",
    "Reply",
    "Wire",
    "completion_wire",
    "error_document",
    "insufficient_credits_document",
    "json_wire",
    "map_documents",
    "sse_parts",
    "wire_documents",
]

USER_ID = "user_2EmulatedOpenRouterUser00"
DOCUMENTED_ERROR_STATUSES = (400, 401, 402, 403, 404, 408, 413, 422, 429, 500, 502, 503, 524, 529)
_PROCESSING = b": OPENROUTER PROCESSING\n\n"
_DONE = b"data: [DONE]\n\n"
_DEFAULT_ANTHROPIC_RAW = (
    '{"type":"error","error":{"type":"invalid_request_error","message":"messages.0: all messages '
    'must have non-empty content except for the optional final assistant message"}}'
)


@dataclass(frozen=True)
class Wire:
    """An HTTP response as the emulator writes it."""

    status: int
    parts: tuple[bytes, ...]
    content_type: str = "application/json"
    streamed: bool = False  # chunked transfer encoding, one part per SSE event
    headers: tuple[tuple[str, str], ...] = ()
    cut_after: int | None = None  # close after this many body bytes; 0: before the status line


def error_document(
    status: int, message: str, metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """OpenRouter's error body: ``{"error": {"message", "code", "metadata"?}, "user_id"}``."""
    error: dict[str, Any] = {"message": message, "code": status}
    if metadata is not None:
        error["metadata"] = dict(metadata)
    return {"error": error, "user_id": USER_ID}


PURCHASE_ADVICE = (
    "To increase, visit https://openrouter.ai/settings/credits and upgrade to a paid account"
)
KEY_LIMIT_ADVICE = (
    "To increase, visit https://openrouter.ai/settings/keys and create a key with a higher "
    "monthly limit"
)


def insufficient_credits_document(
    requested: int, affordable: int, advice: str = PURCHASE_ADVICE
) -> dict[str, Any]:
    """OpenRouter's 402 body, word for word as observed (``../shared/reference``, §6)."""
    message = (
        "This request requires more credits, or fewer max_tokens. You requested up to "
        f"{requested} tokens, but can only afford {affordable}. {advice}"
    )
    return error_document(402, message, {"provider_name": None})


def json_wire(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Wire:
    """A JSON response; ``body`` as dict/list (serialised), str or bytes (sent as is)."""
    if isinstance(body, bytes):
        raw = body
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = dumps(body).encode()
    return Wire(status, (raw,), headers=tuple((headers or {}).items()))


def sse_parts(
    events: Sequence[Mapping[str, Any] | str], *, comments: int = 2, done: bool = True
) -> tuple[bytes, ...]:
    """SSE blocks: keep-alive comments, one ``data:`` block per event (str: raw), ``[DONE]``."""
    parts = [_PROCESSING] * comments
    for event in events:
        text = event if isinstance(event, str) else f"data: {dumps(event)}"
        parts.append(f"{text}\n\n".encode())
    if done:
        parts.append(_DONE)
    return tuple(parts)


def wire_documents(wire: Wire) -> list[Any]:
    """The JSON documents of a wire: its body, or each SSE ``data:`` event ([] if malformed)."""
    if not wire.streamed:
        try:
            return [json.loads(b"".join(wire.parts))]
        except ValueError:
            return []
    docs = []
    for part in wire.parts:
        text = part.decode().strip()
        if text.startswith("data:") and text[5:].strip() != "[DONE]":
            try:
                docs.append(json.loads(text[5:].strip()))
            except ValueError:
                return []
    return docs


def map_documents(wire: Wire, change: Callable[[Any], Any]) -> Wire:
    """``wire`` with ``change`` applied to each JSON document (the body, or each SSE event)."""
    if not wire.streamed:
        return replace(wire, parts=(dumps(change(json.loads(b"".join(wire.parts)))).encode(),))
    parts = []
    for part in wire.parts:
        text = part.decode().strip()
        if text.startswith("data:") and text[5:].strip() != "[DONE]":
            parts.append(f"data: {dumps(change(json.loads(text[5:].strip())))}\n\n".encode())
        else:
            parts.append(part)
    return replace(wire, parts=tuple(parts))


def _sse_wire(parts: tuple[bytes, ...], headers: Mapping[str, str] | None = None) -> Wire:
    return Wire(200, parts, "text/event-stream", True, tuple((headers or {}).items()))


def completion_wire(ctx: ChatContext, completion: Completion, *, comments: int = 2) -> Wire:
    """``completion`` as JSON or as an SSE stream, following the request's ``stream`` flag."""
    if ctx.stream:
        return _sse_wire(sse_parts(completion_events(completion), comments=comments))
    return json_wire(200, completion_body(completion))


def _needs_chat(ctx: ChatContext | None, what: str) -> ChatContext:
    if ctx is None:
        raise ValueError(
            f"Reply.{what}() answers POST /chat/completions only; use Reply.json() for GETs"
        )
    return ctx


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build with the classmethods; ``delayed()`` adds a pause first."""

    build: Callable[[ChatContext | None], Wire]
    description: str
    delay: float = 0.0

    def render(self, ctx: ChatContext | None) -> Wire:
        return self.build(ctx)

    def delayed(self, seconds: float) -> Reply:
        """The same reply, sent after ``seconds`` (to exercise client timeouts)."""
        return replace(self, delay=seconds, description=f"{self.description} after {seconds}s")

    def __repr__(self) -> str:
        return f"Reply<{self.description}>"

    # -- verbatim bodies ----------------------------------------------------------------------

    @classmethod
    def json(
        cls, status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        """Exactly this status and JSON body (dict/list serialised; str/bytes sent as is)."""
        wire = json_wire(status, {} if body is None else body, headers)
        return cls(lambda _ctx: wire, f"json {status}")

    @classmethod
    def sse(
        cls,
        events: Sequence[Mapping[str, Any] | str],
        headers: Mapping[str, str] | None = None,
        comments: int = 2,
        done: bool = True,
    ) -> Reply:
        """A 200 SSE stream of these events (str events are raw lines, e.g. malformed ones)."""
        wire = _sse_wire(sse_parts(events, comments=comments, done=done), headers)
        return cls(lambda _ctx: wire, f"sse {len(events)} events")

    # -- OpenRouter errors --------------------------------------------------------------------

    @classmethod
    def error(cls, status: int, message: str, metadata: Mapping[str, Any] | None = None) -> Reply:
        """A generic OpenRouter error body with HTTP status == ``error.code``."""
        if not 400 <= status <= 599:
            raise ValueError(
                f"Reply.error(status={status}): use a 4xx/5xx status, "
                f"e.g. one of {DOCUMENTED_ERROR_STATUSES}"
            )
        wire = json_wire(status, error_document(status, message, metadata))
        return cls(lambda _ctx: wire, f"error {status}")

    @classmethod
    def provider_error(
        cls,
        status: int = 400,
        provider: str = "Anthropic",
        raw: str = _DEFAULT_ANTHROPIC_RAW,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """ "Provider returned error" with ``metadata.provider_name`` and the upstream ``raw``."""
        metadata = {"raw": raw, "provider_name": provider, "is_byok": False}
        wire = json_wire(
            status, error_document(status, "Provider returned error", metadata), headers
        )
        return cls(lambda _ctx: wire, f"provider error {status} from {provider}")

    @classmethod
    def rate_limited(
        cls,
        limit: int = 20,
        remaining: int = 0,
        reset_ms: int | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
        in_body: bool = True,
        in_headers: bool = True,
    ) -> Reply:
        """OpenRouter's own 429: ``X-RateLimit-*`` headers and the same in ``metadata.headers``.

        ``reset_ms`` is an epoch in milliseconds (default: a minute from now), as observed.
        With ``provider`` the body is the provider variant ("Provider returned error").
        """
        reset = reset_ms if reset_ms is not None else int((time.time() + 60) * 1000)
        hints = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }
        if retry_after is not None:
            hints["Retry-After"] = f"{retry_after:g}"
        metadata: dict[str, Any] = {"headers": hints} if in_body else {}
        if provider is None:
            message = "Rate limit exceeded: free-models-per-min. "
            metadata["provider_name"] = None
        else:
            message = "Provider returned error"
            metadata.update(
                provider_name=provider,
                is_byok=False,
                raw=f"{provider} is temporarily rate-limited upstream.",
            )
        if retry_after is not None and in_body:
            metadata["retry_after_seconds"] = retry_after
        # like every real answer, it carries its Date: reset epochs are relative to it
        headers = {**hints, "Date": formatdate(usegmt=True)} if in_headers else None
        wire = json_wire(429, error_document(429, message, metadata), headers)
        return cls(lambda _ctx: wire, "rate limited 429")

    @classmethod
    def insufficient_credits(
        cls, requested: int = 32000, affordable: int = 27342, *, key_limit: bool = False
    ) -> Reply:
        """OpenRouter's 402 "requires more credits, or fewer max_tokens" (key-limit variant too)."""
        advice = KEY_LIMIT_ADVICE if key_limit else PURCHASE_ADVICE
        wire = json_wire(402, insufficient_credits_document(requested, affordable, advice))
        return cls(lambda _ctx: wire, f"402 affordable {affordable}")

    @classmethod
    def no_endpoints(cls) -> Reply:
        """404 "No endpoints found that can handle the requested parameters."."""
        message = "No endpoints found that can handle the requested parameters."
        return cls.error(404, message)

    @classmethod
    def error_in_200(cls, message: str = "Internal Server Error", code: int = 502) -> Reply:
        """HTTP 200 whose JSON body has a top-level ``error`` and no ``choices``."""
        wire = json_wire(200, error_document(code, message))
        return cls(lambda _ctx: wire, "error inside a 200")

    # -- broken transport -----------------------------------------------------------------------

    @classmethod
    def drop_connection(cls, after_bytes: int = 0) -> Reply:
        """Close the socket before answering (0) or after ``after_bytes`` of the normal body."""

        def build(ctx: ChatContext | None) -> Wire:
            if ctx is None:
                return Wire(200, (b'{"data": []}',), cut_after=after_bytes)
            return replace(completion_wire(ctx, plan_completion(ctx)), cut_after=after_bytes)

        return cls(build, f"drop connection after {after_bytes} bytes")

    @classmethod
    def malformed_json(cls) -> Reply:
        """200 with JSON cut mid-document (for streams: one good chunk, then a broken one)."""

        def build(ctx: ChatContext | None) -> Wire:
            broken = (
                '{"id":"gen-broken","object":"chat.completion","choices":[{"message":{"content":"cu'
            )
            if ctx is None or not ctx.stream:
                return json_wire(200, broken)
            good = content_events(plan_completion(ctx))[:1]
            return _sse_wire(sse_parts([*good, f"data: {broken}"]))

        return cls(build, "malformed JSON")

    @classmethod
    def mid_stream_error(
        cls,
        after_chunks: int = 2,
        message: str = "Provider disconnected unexpectedly",
        code: int = 502,
    ) -> Reply:
        """SSE 200: ``after_chunks`` content chunks, then an ``error`` chunk (finish "error").

        Asked without ``stream``, the same failure arrives as a 200 JSON body whose choice has
        ``finish_reason: "error"`` and an ``error`` beside the partial content.
        """
        error = {
            "code": code,
            "message": message,
            "metadata": {"error_type": "provider_unavailable"},
        }

        def build(ctx: ChatContext | None) -> Wire:
            completion = plan_completion(_needs_chat(ctx, "mid_stream_error"))
            partial = with_content(completion, "".join(completion.content_pieces[:after_chunks]))
            if not ctx or not ctx.stream:
                return json_wire(200, completion_body(partial, error=error))
            events = [*content_events(partial), error_chunk(partial, error)]
            return _sse_wire(sse_parts(events))

        return cls(build, f"mid-stream error after {after_chunks} chunks")

    @classmethod
    def finish_reason_error(cls, after_chunks: int = 2) -> Reply:
        """SSE 200: ``after_chunks`` content chunks, then a chunk with ``finish_reason: "error"``
        and NO error object, then usage and ``[DONE]``. Without ``stream``: a 200 JSON body whose
        choice has ``finish_reason: "error"`` beside the partial content, and no error object."""

        def build(ctx: ChatContext | None) -> Wire:
            completion = plan_completion(_needs_chat(ctx, "finish_reason_error"))
            partial = with_content(completion, "".join(completion.content_pieces[:after_chunks]))
            failed = replace(partial, finish_reason="error", native_finish_reason="error")
            if not ctx or not ctx.stream:
                return json_wire(200, completion_body(failed))
            return _sse_wire(sse_parts(completion_events(failed)))

        return cls(build, f"finish_reason error after {after_chunks} chunks")

    @classmethod
    def truncated_stream(cls, after_chunks: int = 2) -> Reply:
        """SSE 200 whose body ends cleanly after ``after_chunks`` content chunks: no finish
        chunk, no usage, no ``[DONE]`` (an answer cut short). Without ``stream``: the JSON body
        cut mid-document, with a Content-Length that matches the cut."""

        def build(ctx: ChatContext | None) -> Wire:
            completion = plan_completion(_needs_chat(ctx, "truncated_stream"))
            if not ctx or not ctx.stream:
                whole = dumps(completion_body(completion))
                return json_wire(200, whole[: len(whole) // 2])
            events = content_events(completion)[:after_chunks]
            return _sse_wire(sse_parts(events, done=False))

        return cls(build, f"stream cut after {after_chunks} chunks")

    @classmethod
    def html_page(cls, status: int = 200) -> Reply:
        """An HTML page (``text/html``), as a web app answers a ``base_url`` without ``/api/v1``
        — for JSON and stream requests alike."""
        page = (
            b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            b'<title>OpenRouter</title></head><body><div id="__next"></div></body></html>'
        )
        wire = Wire(status, (page,), content_type="text/html; charset=utf-8")
        return cls(lambda _ctx: wire, f"html page {status}")

    @classmethod
    def key_echo(cls, status: int = 401, *, in_200: bool = False) -> Reply:
        """An upstream error that quotes the API key the request was sent with, in the message
        and in ``metadata.raw`` (a provider's "Incorrect API key provided: ..."). With
        ``in_200``: an error inside a 200 (a mid-stream error chunk after one content chunk for
        stream requests, a JSON body with a top-level ``error`` otherwise) with code ``status``.
        """

        def build(ctx: ChatContext | None) -> Wire:
            ctx = _needs_chat(ctx, "key_echo")
            quote = f"Incorrect API key provided: {ctx.api_key}. You can find your API key at ..."
            raw = dumps({"error": {"message": quote, "type": "invalid_request_error"}})
            metadata = {"provider_name": "Echoing", "raw": raw, "headers": {"X-Key": ctx.api_key}}
            document = error_document(status, f"Provider returned error: {quote}", metadata)
            if not in_200:
                return json_wire(status, document)
            if not ctx.stream:
                return json_wire(200, document)
            completion = plan_completion(ctx)
            partial = with_content(completion, "".join(completion.content_pieces[:1]))
            events = [*content_events(partial), error_chunk(partial, document["error"])]
            return _sse_wire(sse_parts(events))

        return cls(build, f"key echoed in {'a 200' if in_200 else status}")

    # -- completions ----------------------------------------------------------------------------

    @classmethod
    def default(cls) -> Reply:
        """The emulator's default answer (useful with ``delayed``)."""
        return cls(
            lambda ctx: completion_wire(
                _needs_chat(ctx, "default"), plan_completion(_needs_chat(ctx, "default"))
            ),
            "default completion",
        )

    @classmethod
    def text(
        cls,
        content: str = "Hello from the emulator.",
        reasoning: str | None = None,
        provider: str = "Emulated",
        finish_reason: str = "stop",
        native_finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
    ) -> Reply:
        """A normal completion with this text (and reasoning); ``usage`` overrides fields."""

        def build(ctx: ChatContext | None) -> Wire:
            ctx = _needs_chat(ctx, "text")
            completion = make_completion(
                ctx,
                content=content,
                reasoning=reasoning,
                provider=provider,
                finish_reason=finish_reason,
                native_finish_reason=native_finish_reason,
                usage=usage,
            )
            return completion_wire(ctx, completion)

        return cls(build, f"text {content[:30]!r}")

    @classmethod
    def tool_call(
        cls, name: str, arguments: Mapping[str, Any] | str, provider: str = "Emulated"
    ) -> Reply:
        """A completion with one tool call (str arguments are sent verbatim, even if invalid)."""
        return cls.tool_calls((name, arguments), provider=provider)

    @classmethod
    def tool_calls(
        cls, *calls: tuple[str, Mapping[str, Any] | str], provider: str = "Emulated"
    ) -> Reply:
        """A completion with several (parallel) tool calls."""

        def build(ctx: ChatContext | None) -> Wire:
            ctx = _needs_chat(ctx, "tool_calls")
            completion = make_completion(ctx, tool_calls=list(calls), provider=provider)
            return completion_wire(ctx, completion)

        return cls(build, f"tool calls {[c[0] for c in calls]}")
