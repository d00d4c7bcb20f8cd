"""Cost from catalog prices, for answers that do not carry ``usage.cost``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

if TYPE_CHECKING:
    from .catalog import ModelInfo

__all__ = ["with_estimated_cost", "with_estimated_cost_chunk"]


def with_estimated_cost(result: ChatResult, info: ModelInfo | None) -> ChatResult:
    for generation in result.generations:
        _estimate_cost(generation.message, info)
    return result


def with_estimated_cost_chunk(
    chunk: ChatGenerationChunk, info: ModelInfo | None
) -> ChatGenerationChunk:
    _estimate_cost(chunk.message, info)
    return chunk


def _estimate_cost(message: BaseMessage, info: ModelInfo | None) -> None:
    """Fill ``response_metadata["cost"]`` from catalog prices when OpenRouter did not send it."""
    if not isinstance(message, (AIMessage, AIMessageChunk)) or info is None:
        return
    meta = message.response_metadata
    usage = meta.get("token_usage")
    if meta.get("cost") is not None or not isinstance(usage, Mapping):
        return
    from .catalog import estimate_cost

    details = usage.get("prompt_tokens_details") or {}
    cost = estimate_cost(
        info,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0),
        cache_write_tokens=int(details.get("cache_write_tokens") or 0),
    )
    if cost is not None:
        meta["cost"] = cost
        meta["cost_estimated"] = True
