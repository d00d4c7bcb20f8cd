"""Prompt caching and OpenRouter's response cache end to end against the emulator (which caches
prompt prefixes and whole answers as OpenRouter and its providers do), in all four modes."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import ValidationError

from langchain_openrouter_fenic import ChatOpenRouter, openrouter_usage
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.modes import MODES, answer, fast_model

CLAUDE = "anthropic/claude-sonnet-4"
KEY = "sk-or-v1-caching-secret-0123456789"
# a system prompt past the 1024-token minimum of Claude Sonnet (the emulator counts words)
HANDBOOK = " ".join(f"Rule {i}: answer politely and cite the handbook section." for i in range(150))


def make(emulator: OpenRouterEmulator, **kw: Any) -> ChatOpenRouter:
    llm: ChatOpenRouter = fast_model(emulator, CLAUDE, KEY, **kw)
    return llm


def conversation(question: str, **marker: Any) -> list[Any]:
    system = SystemMessage(HANDBOOK, additional_kwargs={"cache_control": marker} if marker else {})
    return [system, HumanMessage(question)]


# -- prompt caching ------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_marked_system_prompt_is_written_then_read(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    llm = make(emulator)
    with openrouter_usage() as usage:
        first = await answer(llm, mode, conversation("What is rule 3?", type="ephemeral"))
        second = await answer(llm, mode, conversation("What is rule 7?", type="ephemeral"))
    sent = emulator.chat_requests()[0].json["messages"][0]
    assert sent["content"] == [
        {"type": "text", "text": HANDBOOK, "cache_control": {"type": "ephemeral"}}
    ]
    assert first.usage_metadata is not None and second.usage_metadata is not None
    written = first.usage_metadata["input_token_details"]["cache_creation"]
    assert written > 1024 and first.usage_metadata["input_token_details"]["cache_read"] == 0
    assert second.usage_metadata["input_token_details"]["cache_read"] == written
    assert second.usage_metadata["input_token_details"]["cache_creation"] == 0
    # Claude Sonnet: reads cost 0.1x the input price, writes 1.25x
    assert second.response_metadata["cost"] < first.response_metadata["cost"] / 3
    assert usage.cache_write_tokens == written and usage.cache_read_tokens == written
    assert usage.cost == pytest.approx(
        first.response_metadata["cost"] + second.response_metadata["cost"]
    )


async def test_short_or_unmarked_prompts_are_not_cached(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    short = [SystemMessage("Be brief.", additional_kwargs={"cache_control": {"type": "ephemeral"}})]
    for _ in range(2):
        msg = await llm.ainvoke([*short, HumanMessage("hi")])
        assert msg.usage_metadata is not None
        assert msg.usage_metadata["input_token_details"]["cache_read"] == 0
    for _ in range(2):
        msg = await llm.ainvoke(conversation("no marker"))
        assert msg.usage_metadata is not None
        assert msg.usage_metadata["input_token_details"]["cache_creation"] == 0


@pytest.mark.parametrize("mode", MODES)
async def test_top_level_cache_control_follows_the_conversation(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    llm = make(emulator, cache_control={"type": "ephemeral", "ttl": "1h"})
    turn1 = conversation("What is rule 3?")
    first = await answer(llm, mode, turn1)
    turn2 = [*turn1, first, HumanMessage("And rule 4?")]
    second = await answer(llm, mode, turn2)
    bodies = [r.json for r in emulator.chat_requests()]
    assert all(b["cache_control"] == {"type": "ephemeral", "ttl": "1h"} for b in bodies)
    assert first.usage_metadata is not None and second.usage_metadata is not None
    assert first.usage_metadata["input_token_details"]["cache_creation"] > 1024
    # the second turn reads the first turn's prompt and writes only what came after it
    read = second.usage_metadata["input_token_details"]["cache_read"]
    assert read == first.usage_metadata["input_token_details"]["cache_creation"]
    assert 0 < second.usage_metadata["input_token_details"]["cache_creation"] < read
    # per call: None removes the model's setting for that call
    await answer(llm, mode, conversation("What is rule 9?"), cache_control=None)
    assert "cache_control" not in emulator.chat_requests()[-1].json


def test_cache_control_settings_are_checked(emulator: OpenRouterEmulator) -> None:
    with pytest.raises(ValidationError, match="cache_control"):
        make(emulator, cache_control={"type": "ephemeral", "ttl": "1d"})
    llm = make(emulator)
    with pytest.raises(ValidationError, match="cache_control"):
        llm.invoke("hi", cache_control={"type": "forever"})
    with pytest.warns(UserWarning, match="Claude models only"):
        make(emulator, model="openai/gpt-4o-mini", cache_control={"type": "ephemeral"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(emulator, model="~anthropic/claude-sonnet-latest", cache_control={"type": "ephemeral"})
    assert emulator.chat_requests() == []


def test_session_id_goes_in_the_body(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator, model_kwargs={"session_id": "conversation-42"})
    llm.invoke("hi")
    llm.invoke("hi", session_id="conversation-43")
    sent = [r.json["session_id"] for r in emulator.chat_requests()]
    assert sent == ["conversation-42", "conversation-43"]


# -- response caching ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_response_cache_hit_is_free_and_says_so(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    llm = make(emulator, model="openai/gpt-4o-mini", response_cache=True, response_cache_ttl=600)
    with openrouter_usage() as usage:
        miss = await answer(llm, mode, "What is the capital of France?")
        hit = await answer(llm, mode, "What is the capital of France?")
    sent = emulator.chat_requests()[0].headers
    assert sent["x-openrouter-cache"] == "true" and sent["x-openrouter-cache-ttl"] == "600"
    assert miss.response_metadata["response_cache"] == {"status": "MISS", "ttl": 600}
    cache = hit.response_metadata["response_cache"]
    assert cache["status"] == "HIT" and 0 < cache["ttl"] <= 600 and cache["age"] >= 0
    assert cache["source_id"] == miss.response_metadata["id"] != hit.response_metadata["id"]
    assert hit.content == miss.content
    assert miss.response_metadata["cost"] > 0 and hit.response_metadata["cost"] == 0.0
    assert "cost_estimated" not in hit.response_metadata  # billed zero, not estimated
    assert usage.requests == 2 and usage.response_cache_hits == 1
    assert usage.cost == miss.response_metadata["cost"] == emulator.ledger.spent()
    stats = await llm.aget_generation(hit) if mode.startswith("a") else llm.get_generation(hit)
    assert stats.total_cost == 0.0
    assert stats.response_cache_source_id == miss.response_metadata["id"]


@pytest.mark.parametrize("mode", ["invoke", "astream"])
async def test_response_cache_per_call(emulator: OpenRouterEmulator, mode: str) -> None:
    llm = make(emulator, model="openai/gpt-4o-mini")
    plain = await answer(llm, mode, "hello")
    assert "response_cache" not in plain.response_metadata
    assert "x-openrouter-cache" not in emulator.chat_requests()[-1].headers
    await answer(llm, mode, "hello", response_cache=True)
    hit = await answer(llm, mode, "hello", response_cache=True)
    assert hit.response_metadata["response_cache"]["status"] == "HIT"
    fresh = await answer(llm, mode, "hello", response_cache=True, response_cache_clear=True)
    assert fresh.response_metadata["response_cache"]["status"] == "MISS"
    assert emulator.chat_requests()[-1].headers["x-openrouter-cache-clear"] == "true"
    cached = make(emulator, model="openai/gpt-4o-mini", response_cache=True)
    await answer(cached, mode, "hello", response_cache=False)
    assert emulator.chat_requests()[-1].headers["x-openrouter-cache"] == "false"


def test_response_cache_settings_are_checked(emulator: OpenRouterEmulator) -> None:
    with pytest.raises(ValidationError, match="response_cache_ttl"):
        make(emulator, response_cache_ttl=0)
    with pytest.raises(ValidationError, match="response_cache_ttl"):
        make(emulator, response_cache_ttl=86401)
    llm = make(emulator)
    with pytest.raises(ValidationError, match="response_cache_ttl"):
        llm.invoke("hi", response_cache=True, response_cache_ttl=-5)
    with pytest.raises(ValidationError, match="response_cache"):
        llm.invoke("hi", response_cache="sometimes")
    assert emulator.chat_requests() == []


def test_response_cache_ttl_expires(emulator: OpenRouterEmulator) -> None:
    now = [1_000_000.0]
    emulator.response_cache._clock = lambda: now[0]
    llm = make(emulator, model="openai/gpt-4o-mini", response_cache=True, response_cache_ttl=60)
    llm.invoke("tick")
    now[0] += 30
    assert llm.invoke("tick").response_metadata["response_cache"]["ttl"] == 30
    now[0] += 31
    assert llm.invoke("tick").response_metadata["response_cache"]["status"] == "MISS"


def test_a_hit_is_billed_zero_whatever_the_body_says(emulator: OpenRouterEmulator) -> None:
    body = {
        "id": "gen-2-hit",
        "model": "openai/gpt-4o-mini",
        "provider": "OpenAI",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14, "cost": 3e-06},
    }
    headers = {"X-OpenRouter-Cache-Status": "HIT", "X-OpenRouter-Cache-Source-Id": "gen-1"}
    emulator.enqueue(Reply.json(200, body, headers))
    with openrouter_usage() as usage:
        msg = make(emulator, model="openai/gpt-4o-mini").invoke("capital?")
    assert msg.response_metadata["cost"] == 0.0 and usage.cost == 0.0
    assert msg.response_metadata["response_cache"] == {"status": "HIT", "source_id": "gen-1"}


# -- the real recording quoted in docs/cost.md ------------------------------------------------
REAL = Path(__file__).resolve().parents[2] / "cassettes" / "real"


@pytest.mark.parametrize(
    ("cassette", "stream", "cached", "cost"),
    [
        ("test_openrouter_stream_with_native_options-0.yaml", True, 679, 0.00333825),
        ("test_openrouter_with_native_options-0.yaml", False, 682, None),
    ],
)
async def test_the_real_cache_recording_in_the_docs(
    replay_cassette: Any, cassette: str, stream: bool, cached: int, cost: float | None
) -> None:
    """docs/cost.md quotes these numbers: grok-4 on xAI read 679 of 687 prompt tokens from its
    cache; the recorded cost splits into $0.00053325 prompt + $0.002805 completion."""
    with replay_cassette(REAL / cassette), openrouter_usage() as usage:
        llm = ChatOpenRouter(
            model="google/gemini-2.0-flash-exp:free", api_key="real-cache-recording", max_retries=0
        )
        msg = await answer(llm, "stream" if stream else "invoke", "Who are you")
    assert msg.usage_metadata is not None
    assert msg.usage_metadata["input_tokens"] == 687
    assert msg.usage_metadata["input_token_details"]["cache_read"] == cached
    assert msg.response_metadata["provider"] == "xAI"
    assert usage.cache_read_tokens == cached and usage.by_provider["xAI"].requests == 1
    if cost is not None:
        details = msg.response_metadata["cost_details"]
        assert msg.response_metadata["cost"] == cost == usage.cost
        assert details["upstream_inference_prompt_cost"] == 0.00053325
        # grok-4's prices ($3 / $0.75 per million input / cached tokens) explain the prompt cost
        assert (687 - cached) * 3e-6 + cached * 0.75e-6 == pytest.approx(0.00053325)
        assert pytest.approx(0.002061) == 687 * 3e-6  # what the prompt would have cost uncached
