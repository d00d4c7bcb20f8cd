"""The four ways an answer is asked for -- JSON and streamed, sync and async -- behind one call,
so that a test can be parametrised over all of them."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

__all__ = ["MODES", "answer", "answers"]

MODES = ("invoke", "stream", "ainvoke", "astream")


def _joined(chunks: list[AIMessageChunk]) -> AIMessage:
    assert chunks, "the stream produced no chunk"
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    return AIMessage(
        content=whole.content,
        additional_kwargs=whole.additional_kwargs,
        response_metadata=whole.response_metadata,
        usage_metadata=whole.usage_metadata,
        tool_calls=whole.tool_calls,
        id=whole.id,
    )


async def answer(llm: BaseChatModel, mode: str, prompt: Any, **kwargs: Any) -> AIMessage:
    """One answer, asked for in ``mode`` (one of ``MODES``); a stream is aggregated."""
    if mode == "invoke":
        message: BaseMessage = llm.invoke(prompt, **kwargs)
    elif mode == "ainvoke":
        message = await llm.ainvoke(prompt, **kwargs)
    elif mode == "stream":
        return _joined(list(llm.stream(prompt, **kwargs)))  # type: ignore[arg-type]
    elif mode == "astream":
        return _joined([c async for c in llm.astream(prompt, **kwargs)])  # type: ignore[misc]
    else:
        raise ValueError(f"mode={mode!r}: use one of {MODES}")
    assert isinstance(message, AIMessage)
    return message


async def answers(
    llm: BaseChatModel, mode: str, prompts: list[Any], **config: Any
) -> list[AIMessage | Exception]:
    """A batch in ``mode``: ``batch``/``abatch`` of a JSON or a ``streaming=True`` model."""
    model = llm.model_copy(update={"streaming": mode in ("stream", "astream")})
    if mode in ("invoke", "stream"):
        return model.batch(prompts, config=config or None, return_exceptions=True)  # type: ignore[return-value]
    return await model.abatch(prompts, config=config or None, return_exceptions=True)  # type: ignore[return-value]


def fast_model(emulator: Any, default_model: str, default_key: str, **kw: Any) -> Any:
    """A ``ChatOpenRouter`` on the emulator whose own limiter never holds a test back
    (500 requests/s, bursts of 32): what is measured is the HTTP, not the pacing."""
    from langchain_openrouter_fenic import AdaptiveRateLimiter, ChatOpenRouter

    options: dict[str, Any] = {
        "model": default_model,
        "api_key": default_key,
        "base_url": emulator.url,
        "rate_limiter": AdaptiveRateLimiter(requests_per_minute=30_000, max_burst=32),
    }
    options.update(kw)
    return ChatOpenRouter(**options)
