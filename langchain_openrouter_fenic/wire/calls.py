"""One chat-completion call with retries, as JSON or as a stream, sync and async.

The parsing is shared (``_response``); only the I/O loops differ. A stream is retried as a whole
until its first chunk exists, never after: chunks already delivered stay delivered.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from typing import Any

from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.rate_limiters import BaseRateLimiter

from ..errors import OpenRouterError
from ..rate_limits import retry
from . import response
from .transport import OpenRouterTransport, StreamResult

__all__ = ["CHAT_PATH", "CallOptions", "acomplete", "astream", "complete", "stream"]

CHAT_PATH = "/chat/completions"


@dataclass(frozen=True)
class CallOptions:
    """How one call is retried and rate-limited, and whether a stream carries usage."""

    max_retries: int
    rate_limiter: BaseRateLimiter | None
    max_rate_limit_wait: float
    include_usage: bool = True
    headers: Mapping[str, str] | None = None  # per-request headers (the response cache's)

    def retry_options(self) -> dict[str, Any]:
        # LangChain's BaseChatModel acquires the limiter before the first attempt
        return {
            "max_retries": self.max_retries,
            "rate_limiter": self.rate_limiter,
            "max_rate_limit_wait": self.max_rate_limit_wait,
            "first_attempt_acquired": True,
        }


def complete(
    transport: OpenRouterTransport, body: Mapping[str, Any], options: CallOptions
) -> ChatResult:
    def attempt() -> ChatResult:
        answer = transport.post_json(CHAT_PATH, body, options.headers)
        return response.result_from_completion(answer.data, answer.headers)

    return retry.call_with_retries(attempt, **options.retry_options())


async def acomplete(
    transport: OpenRouterTransport, body: Mapping[str, Any], options: CallOptions
) -> ChatResult:
    async def attempt() -> ChatResult:
        answer = await transport.apost_json(CHAT_PATH, body, options.headers)
        return response.result_from_completion(answer.data, answer.headers)

    return await retry.acall_with_retries(attempt, **options.retry_options())


_Opened = tuple[response.StreamAssembler, StreamResult, list[ChatGenerationChunk]]


def stream(
    transport: OpenRouterTransport, body: Mapping[str, Any], options: CallOptions
) -> Generator[ChatGenerationChunk, None, None]:
    """Every chunk, the closing one (metadata, usage) last; success is reported after it.

    The response is closed on every exit: the end, an error, a consumer that stops early."""
    with ExitStack() as stack:

        def attempt() -> _Opened:
            opened = transport.open_stream(CHAT_PATH, body, options.headers)
            try:
                assembler = response.StreamAssembler(
                    include_usage=options.include_usage, headers=opened.headers
                )
                first = response.first_chunks(
                    assembler, opened.events, lambda: opened.ended_with_done
                )
            except BaseException:
                opened.close()
                raise
            stack.callback(opened.close)  # the open response outlives the attempt
            return assembler, opened, first

        assembler, opened, first = retry.call_with_retries(
            attempt, report_success=False, **options.retry_options()
        )
        try:
            yield from first
            for event in opened.events:
                chunk = assembler.feed(event)
                if chunk is not None:
                    yield chunk
            final = assembler.finish(ended_with_done=opened.ended_with_done)
        except OpenRouterError as err:
            _say_not_retried(err, assembler.delivered)
            raise
        retry.report_success(options.rate_limiter)
        yield final


async def astream(
    transport: OpenRouterTransport, body: Mapping[str, Any], options: CallOptions
) -> AsyncGenerator[ChatGenerationChunk, None]:
    """``stream``, async; cancellation closes the response too."""
    async with AsyncExitStack() as stack:

        async def attempt() -> _Opened:
            opened = await transport.aopen_stream(CHAT_PATH, body, options.headers)
            try:
                assembler = response.StreamAssembler(
                    include_usage=options.include_usage, headers=opened.headers
                )
                first = await response.afirst_chunks(
                    assembler, opened.events, lambda: opened.ended_with_done
                )
            except BaseException:
                await opened.aclose()
                raise
            stack.push_async_callback(opened.aclose)
            return assembler, opened, first

        assembler, opened, first = await retry.acall_with_retries(
            attempt, report_success=False, **options.retry_options()
        )
        try:
            for chunk in first:
                yield chunk
            async for event in opened.events:
                maybe = assembler.feed(event)
                if maybe is not None:
                    yield maybe
            final = assembler.finish(ended_with_done=opened.ended_with_done)
        except OpenRouterError as err:
            _say_not_retried(err, assembler.delivered)
            raise
        retry.report_success(options.rate_limiter)
        yield final


def _say_not_retried(err: OpenRouterError, delivered: int) -> None:
    """End the message of an error raised mid-stream with what was done about it."""
    if delivered:
        err.message = (
            f"{err.message} Raised after {delivered} chunk{'s' if delivered != 1 else ''} had "
            "been delivered: not retried (they stay delivered, and a retry would send them again)."
        )
        err.args = (err.message,)
