"""The account side of OpenRouter: what a key may still spend (``GET /key``) and what one
generation cost, exactly (``GET /generation?id=``).

Both are plain GETs through the chat model's transport, under the retry policy (429, 5xx and
connection errors are retried; the rate limiter is for chat requests and is not involved).
OpenRouter records a generation's stats a little after the answer ends, so ``/generation`` answers
404 for a while: that 404 is retried for a bounded time (``max_wait``) before it is raised.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from langchain_core.messages import BaseMessage

from . import errors

if TYPE_CHECKING:
    from .wire.transport import HttpResult, OpenRouterTransport

__all__ = [
    "DEFAULT_GENERATION_WAIT",
    "Credits",
    "GenerationStats",
    "acredits",
    "aget_generation",
    "credits",
    "get_generation",
]

#: How long ``get_generation`` keeps asking while OpenRouter answers 404 (seconds).
DEFAULT_GENERATION_WAIT = 10.0
_FIRST_POLL = 0.25  # then doubling, up to _LONGEST_POLL: 0.25, 0.5, 1, 1, ... seconds
_LONGEST_POLL = 1.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class Credits:
    """``GET /key``: the key's spending limit and usage, in USD. None where OpenRouter sends null
    (a null ``limit`` / ``remaining`` means the key has no limit)."""

    limit: float | None
    usage: float | None
    remaining: float | None
    is_free_tier: bool | None
    limit_reset: str | None = None
    usage_daily: float | None = None
    usage_weekly: float | None = None
    usage_monthly: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_response(cls, document: Any) -> Credits:
        data = _data_of(document, "/key")
        return cls(
            limit=_number(data.get("limit")),
            usage=_number(data.get("usage")),
            remaining=_number(data.get("limit_remaining")),
            is_free_tier=_flag(data.get("is_free_tier")),
            limit_reset=_text(data.get("limit_reset")),
            usage_daily=_number(data.get("usage_daily")),
            usage_weekly=_number(data.get("usage_weekly")),
            usage_monthly=_number(data.get("usage_monthly")),
            raw=dict(data),
        )


@dataclass(frozen=True)
class GenerationStats:
    """``GET /generation``: one generation as OpenRouter billed it. Costs in USD, times in ms;
    None where OpenRouter sends null. ``raw`` has every field as sent."""

    id: str
    model: str | None
    provider_name: str | None
    total_cost: float | None
    cache_discount: float | None
    upstream_inference_cost: float | None
    tokens_prompt: int | None
    tokens_completion: int | None
    native_tokens_prompt: int | None
    native_tokens_completion: int | None
    native_tokens_reasoning: int | None
    native_tokens_cached: int | None
    latency_ms: float | None
    generation_time_ms: float | None
    moderation_latency_ms: float | None
    finish_reason: str | None
    native_finish_reason: str | None
    streamed: bool | None
    cancelled: bool | None
    is_byok: bool | None
    created_at: str | None
    response_cache_source_id: str | None
    provider_responses: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_response(cls, document: Any, requested_id: str) -> GenerationStats:
        data = _data_of(document, "/generation")
        attempts = data.get("provider_responses")
        return cls(
            id=_text(data.get("id")) or requested_id,
            model=_text(data.get("model")),
            provider_name=_text(data.get("provider_name")),
            total_cost=_number(data.get("total_cost")),
            cache_discount=_number(data.get("cache_discount")),
            upstream_inference_cost=_number(data.get("upstream_inference_cost")),
            tokens_prompt=_integer(data.get("tokens_prompt")),
            tokens_completion=_integer(data.get("tokens_completion")),
            native_tokens_prompt=_integer(data.get("native_tokens_prompt")),
            native_tokens_completion=_integer(data.get("native_tokens_completion")),
            native_tokens_reasoning=_integer(data.get("native_tokens_reasoning")),
            native_tokens_cached=_integer(data.get("native_tokens_cached")),
            latency_ms=_number(data.get("latency")),
            generation_time_ms=_number(data.get("generation_time")),
            moderation_latency_ms=_number(data.get("moderation_latency")),
            finish_reason=_text(data.get("finish_reason")),
            native_finish_reason=_text(data.get("native_finish_reason")),
            streamed=_flag(data.get("streamed")),
            cancelled=_flag(data.get("cancelled")),
            is_byok=_flag(data.get("is_byok")),
            created_at=_text(data.get("created_at")),
            response_cache_source_id=_text(data.get("response_cache_source_id")),
            provider_responses=tuple(dict(a) for a in attempts or [] if isinstance(a, Mapping)),
            raw=dict(data),
        )


def _data_of(document: Any, route: str) -> Mapping[str, Any]:
    data = document.get("data") if isinstance(document, Mapping) else None
    if not isinstance(data, Mapping):
        raise errors.ResponseParseError(
            f"OpenRouter answered GET {route} without a 'data' object: {str(document)[:200]!r}. "
            "Retry the call; report it if it persists.",
            status_code=200,
            body=document,
        )
    return data


# -- /key ------------------------------------------------------------------------------------
def credits(transport: OpenRouterTransport, *, max_retries: int) -> Credits:
    from .rate_limits.retry import call_with_retries

    answer = call_with_retries(
        lambda: transport.get_json("/key"), max_retries=max_retries, rate_limiter=None
    )
    return Credits.from_response(answer.data)


async def acredits(transport: OpenRouterTransport, *, max_retries: int) -> Credits:
    from .rate_limits.retry import acall_with_retries

    answer = await acall_with_retries(
        lambda: transport.aget_json("/key"), max_retries=max_retries, rate_limiter=None
    )
    return Credits.from_response(answer.data)


# -- /generation -----------------------------------------------------------------------------
def generation_id_of(generation: str | BaseMessage) -> str:
    """The id to look up: a ``gen-...`` string, or a message's ``response_metadata["id"]``."""
    if isinstance(generation, BaseMessage):
        found = generation.response_metadata.get("id") or generation.id
        if not isinstance(found, str) or not found:
            raise ValueError(
                "get_generation: this message has no generation id (response_metadata['id']); "
                "pass a message returned by ChatOpenRouter, or the 'gen-...' id itself."
            )
        return found
    if not isinstance(generation, str) or not generation.strip():
        raise ValueError(
            f"get_generation: id={generation!r} is not a generation id; pass "
            "response_metadata['id'] of an answer (a 'gen-...' string) or the message itself."
        )
    return generation.strip()


def _poll_delays(max_wait: float) -> list[float]:
    """The pauses between lookups while OpenRouter answers 404, adding up to ``max_wait``."""
    delays, total, step = [], 0.0, _FIRST_POLL
    while total + step <= max_wait + 1e-9:
        delays.append(step)
        total += step
        step = min(step * 2, _LONGEST_POLL)
    if total < max_wait:
        delays.append(max_wait - total)
    return delays


def _check_wait(max_wait: float) -> None:
    if not isinstance(max_wait, (int, float)) or isinstance(max_wait, bool) or max_wait < 0:
        raise ValueError(
            f"get_generation: max_wait={max_wait!r} must be a number of seconds >= 0 "
            f"(default {DEFAULT_GENERATION_WAIT:g}; 0 asks once)."
        )


def _not_found(gen_id: str, waited: float, cause: errors.NotFoundError) -> errors.NotFoundError:
    return errors.NotFoundError(
        f"OpenRouter has no generation {gen_id!r} (still 404 after {waited:.1f} s). Its stats "
        "appear a few seconds after the answer ends, later after an interrupted stream: call "
        "again later or pass a larger max_wait. The id must be response_metadata['id'] of an "
        "answer from the same account. The answer's own response_metadata['cost'] is exact "
        "already.",
        status_code=404,
        code=cause.code,
        generation_id=gen_id,
        headers=cause.headers,
        body=cause.body,
    )


def get_generation(
    transport: OpenRouterTransport,
    generation: str | BaseMessage,
    *,
    max_retries: int,
    max_wait: float = DEFAULT_GENERATION_WAIT,
    sleep: Callable[[float], None] = time.sleep,
) -> GenerationStats:
    from .rate_limits import waits
    from .rate_limits.retry import call_with_retries

    sleep = waits.sleep_unless_skipped(sleep)  # a cassette replay polls without pausing
    gen_id = generation_id_of(generation)
    _check_wait(max_wait)
    path = f"/generation?{urlencode({'id': gen_id})}"

    def lookup() -> HttpResult:
        return call_with_retries(
            lambda: transport.get_json(path), max_retries=max_retries, rate_limiter=None
        )

    delays = _poll_delays(max_wait)
    for attempt in range(len(delays) + 1):
        try:
            return GenerationStats.from_response(lookup().data, gen_id)
        except errors.NotFoundError as err:
            if attempt == len(delays):
                raise _not_found(gen_id, sum(delays), err) from err
        sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover


async def aget_generation(
    transport: OpenRouterTransport,
    generation: str | BaseMessage,
    *,
    max_retries: int,
    max_wait: float = DEFAULT_GENERATION_WAIT,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> GenerationStats:
    from .rate_limits import waits
    from .rate_limits.retry import acall_with_retries

    sleep = waits.asleep_unless_skipped(sleep)
    gen_id = generation_id_of(generation)
    _check_wait(max_wait)
    path = f"/generation?{urlencode({'id': gen_id})}"

    async def lookup() -> HttpResult:
        return await acall_with_retries(
            lambda: transport.aget_json(path), max_retries=max_retries, rate_limiter=None
        )

    delays = _poll_delays(max_wait)
    for attempt in range(len(delays) + 1):
        try:
            return GenerationStats.from_response((await lookup()).data, gen_id)
        except errors.NotFoundError as err:
            if attempt == len(delays):
                raise _not_found(gen_id, sum(delays), err) from err
        await sleep(delays[attempt])
    raise AssertionError("unreachable")  # pragma: no cover
