"""A stream is complete only when it says so; malformed 200s say what was done about them.

Each fault is served by the emulator (``Reply.finish_reason_error``, ``truncated_stream``,
``html_page``, ``malformed_json``) to every way of asking: ``invoke`` (JSON), ``stream``,
``astream`` and ``streaming=True`` (``invoke`` over a stream). Chunks already delivered stay
delivered; a failure is retried only while none has been.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_openrouter_fenic import ChatOpenRouter, errors
from langchain_openrouter_fenic.rate_limits import waits
from tests.support.emulator import OpenRouterEmulator, Reply

STREAMED = ("stream", "astream", "streaming")
PROMPT = "tell me a story about a fox in the snow"


def make(emulator: OpenRouterEmulator, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {
        "model": "openai/gpt-4o-mini",
        "api_key": "sk-or-v1-stream-endings",
        "base_url": emulator.url,
        "max_retries": 2,
        "rate_limiter": InMemoryRateLimiter(requests_per_second=1e5),
    }
    return ChatOpenRouter(**{**options, **kw})


def ask(llm: ChatOpenRouter, mode: str) -> tuple[list[str], BaseException | None]:
    """What was delivered before the end, and what was raised (None: a complete answer)."""
    delivered: list[str] = []
    try:
        if mode == "invoke":
            delivered.append(str(llm.invoke(PROMPT).content))
        elif mode == "streaming":
            delivered.append(str(llm.model_copy(update={"streaming": True}).invoke(PROMPT).content))
        elif mode == "stream":
            delivered.extend(str(c.content) for c in llm.stream(PROMPT) if c.content)
        else:

            async def drain() -> None:
                async for chunk in llm.astream(PROMPT):
                    if chunk.content:
                        delivered.append(str(chunk.content))

            asyncio.run(drain())
    except errors.OpenRouterError as exc:
        return delivered, exc
    return delivered, None


@pytest.fixture(autouse=True)
def _no_backoff_sleeps() -> Any:
    with waits.skipped():  # retries are counted here, not timed
        yield


@pytest.mark.parametrize("mode", ("invoke", *STREAMED))
def test_finish_reason_error_without_an_error_object_is_raised(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    emulator.enqueue(*[Reply.finish_reason_error(after_chunks=2) for _ in range(3)])
    delivered, err = ask(make(emulator), mode)
    assert isinstance(err, errors.ServerError) and err.status_code is None
    assert 'finish_reason "error" and no error object' in str(err)
    if mode == "invoke":  # a JSON answer delivers nothing before it fails: retried
        assert delivered == [] and "Sent 3 times" in str(err)
        assert len(emulator.chat_requests()) == 3
    else:
        assert "Raised after 2 chunks had been delivered: not retried" in str(err)
        assert len(emulator.chat_requests()) == 1
    if mode in ("stream", "astream"):
        assert len(delivered) == 2  # delivered before the failure, and kept


@pytest.mark.parametrize("mode", ("invoke", *STREAMED))
def test_finish_reason_error_before_any_chunk_is_retried(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    emulator.enqueue(Reply.finish_reason_error(after_chunks=0), Reply.text("Recovered."))
    delivered, err = ask(make(emulator), mode)
    assert err is None and "".join(delivered) == "Recovered."
    assert len(emulator.chat_requests()) == 2


@pytest.mark.parametrize("mode", STREAMED)
def test_a_stream_that_just_stops_is_truncated_not_complete(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    emulator.enqueue(Reply.truncated_stream(after_chunks=3))
    delivered, err = ask(make(emulator), mode)
    assert isinstance(err, errors.StreamTruncatedError)
    assert isinstance(err, errors.APIConnectionError)  # the connection-error family
    assert "without a finish_reason or data: [DONE]" in str(err) and "cut short" in str(err)
    if mode != "streaming":
        assert len(delivered) == 3
        assert "Raised after 3 chunks had been delivered: not retried" in str(err)
    assert len(emulator.chat_requests()) == 1


@pytest.mark.parametrize("mode", STREAMED)
def test_a_stream_cut_before_any_chunk_is_retried_then_raised(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    emulator.enqueue(*[Reply.truncated_stream(after_chunks=0) for _ in range(3)])
    delivered, err = ask(make(emulator), mode)
    assert isinstance(err, errors.StreamTruncatedError) and delivered == []
    assert "before any chunk" in str(err) and "Sent 3 times (max_retries=2)" in str(err)
    assert len(emulator.chat_requests()) == 3


@pytest.mark.parametrize("mode", STREAMED)
def test_a_finish_reason_or_done_alone_says_complete(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    base = {"id": "gen-e", "model": "openai/gpt-4o-mini", "provider": "OpenAI"}

    def chunk(content: str, finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish}
        return {**base, "choices": [choice]}

    emulator.enqueue(
        Reply.sse([chunk("Hel"), chunk("lo", "stop")], done=False),  # no [DONE], but finished
        Reply.sse([chunk("Hel"), chunk("lo")], done=True),  # no finish_reason, but [DONE]
    )
    llm = make(emulator)
    for _ in range(2):
        delivered, err = ask(llm, mode)
        assert err is None and "".join(delivered) == "Hello"


@pytest.mark.parametrize("mode", ("invoke", *STREAMED))
def test_an_html_page_with_status_200_points_at_base_url(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    emulator.enqueue(Reply.html_page(200))
    delivered, err = ask(make(emulator), mode)
    assert isinstance(err, errors.ResponseParseError) and delivered == []
    text = str(err)
    assert "HTML page" in text and "ending in /api/v1" in text and emulator.url in text
    assert "Not retried" in text
    assert len(emulator.chat_requests()) == 1


def test_an_html_404_points_at_base_url(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.html_page(404))
    _, err = ask(make(emulator), "invoke")
    assert isinstance(err, errors.NotFoundError)
    assert "not the API" in str(err) and "ending in /api/v1" in str(err)


@pytest.mark.parametrize("mode", ("invoke", "stream"))
def test_a_malformed_200_is_not_retried_and_says_why(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    emulator.enqueue(Reply.malformed_json(), Reply.text("never asked for"))
    _, err = ask(make(emulator), mode)
    assert isinstance(err, errors.ResponseParseError)
    text = str(err)
    assert "retry the request" not in text
    assert "Not retried" in text and "bills" in text and "twice" in text
    assert len(emulator.chat_requests()) == 1
    assert emulator.pending() == 1


def test_a_json_error_body_on_the_stream_path_is_raised_as_what_it_says(
    emulator: OpenRouterEmulator,
) -> None:
    emulator.enqueue(Reply.error_in_200("Internal Server Error", code=502))  # JSON, not SSE
    delivered, err = ask(make(emulator, max_retries=0), "stream")
    assert isinstance(err, errors.BadGatewayError) and err.status_code == 502
    assert delivered == []


def test_chunks_delivered_before_a_truncation_add_up_to_what_was_sent(
    emulator: OpenRouterEmulator,
) -> None:
    emulator.enqueue(Reply.truncated_stream(after_chunks=4))
    chunks: list[AIMessageChunk] = []
    with pytest.raises(errors.StreamTruncatedError):
        for chunk in make(emulator).stream(PROMPT):
            chunks.append(chunk)
    assert len(chunks) == 4
    assert all(c.chunk_position != "last" for c in chunks)  # no closing chunk: not complete
