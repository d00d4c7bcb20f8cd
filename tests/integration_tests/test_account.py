"""``credits()``, ``get_generation()`` and the 402 advice, at the HTTP boundary (the emulator's
``/key``, ``/generation`` and credit pre-check), JSON and streamed, sync and async."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from langchain_openrouter_fenic import (
    ChatOpenRouter,
    Credits,
    GenerationStats,
    InsufficientCreditsError,
    errors,
)
from tests.support.emulator import OpenRouterEmulator, Reply, running_emulator
from tests.support.modes import MODES, answer, fast_model

MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-account-secret-0123456789"


def make(emulator: OpenRouterEmulator, **kw: Any) -> ChatOpenRouter:
    llm: ChatOpenRouter = fast_model(emulator, MODEL, KEY, **kw)
    return llm


async def credits_of(llm: ChatOpenRouter, mode: str) -> Credits:
    return await llm.acredits() if mode.startswith("a") else llm.credits()


async def generation_of(llm: ChatOpenRouter, mode: str, gen: Any, **kw: Any) -> GenerationStats:
    if mode.startswith("a"):
        return await llm.aget_generation(gen, **kw)
    return llm.get_generation(gen, **kw)


# -- credits ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_credits_follow_the_spend(mode: str) -> None:
    with running_emulator(key_info={"limit": 1.0, "limit_reset": "monthly"}) as emu:
        llm = make(emu)
        before = await credits_of(llm, mode)
        assert (before.limit, before.usage, before.remaining) == (1.0, 0.0, 1.0)
        assert before.is_free_tier is False and before.limit_reset == "monthly"
        msg = await answer(llm, mode, "spend a little")
        after = await credits_of(llm, mode)
        cost = msg.response_metadata["cost"]
        assert cost > 0
        assert after.usage == pytest.approx(cost, abs=1e-12)
        assert after.remaining == pytest.approx(1.0 - cost, abs=1e-12)
        assert emu.count("/key") == 2
        assert emu.requests[-1].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_credits_keep_nulls_as_none(emulator: OpenRouterEmulator, mode: str) -> None:
    emulator.key_info = {"usage": None, "is_free_tier": None, "limit": None}
    got = await credits_of(make(emulator), mode)
    assert got.limit is None and got.remaining is None  # unlimited
    assert got.usage is None and got.is_free_tier is None
    assert KEY not in repr(got) and KEY[:12] not in repr(got)


def test_credits_free_tier_and_errors(emulator: OpenRouterEmulator) -> None:
    emulator.key_info = {"is_free_tier": True, "limit": 5.0, "limit_remaining": 0.25}
    got = make(emulator).credits()
    assert got.is_free_tier is True and got.remaining == 0.25
    emulator.api_key = "another-key"
    with pytest.raises(errors.AuthenticationError) as caught:
        make(emulator).credits()
    assert KEY not in str(caught.value)
    emulator.set_get_reply("/key", Reply.json(200, {"unexpected": True}))
    with pytest.raises(errors.ResponseParseError, match="'data'"):
        make(emulator, api_key="another-key").credits()


# -- /generation -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_get_generation_retries_the_early_404(mode: str) -> None:
    with running_emulator(generation_not_found_lookups=2) as emu:
        llm = make(emu)
        msg = await answer(llm, mode, "what does this cost")
        gen_id = msg.response_metadata["id"]
        assert gen_id.startswith("gen-")
        stats = await generation_of(llm, mode, gen_id)
        assert emu.count("/generation") == 3  # 404, 404, 200
        assert stats.id == gen_id
        assert stats.total_cost == msg.response_metadata["cost"]
        assert msg.usage_metadata is not None
        assert stats.tokens_prompt == msg.usage_metadata["input_tokens"]
        assert stats.tokens_completion == msg.usage_metadata["output_tokens"]
        assert stats.provider_name == msg.response_metadata["provider"] == "Emulated"
        assert stats.model == MODEL
        assert stats.streamed is (mode in ("stream", "astream"))
        assert stats.latency_ms is not None and stats.latency_ms >= 0
        assert stats.finish_reason == "stop"
        assert stats.provider_responses and stats.provider_responses[0]["status"] == 200
        assert stats.raw["api_type"] == "completions"
        # the message itself is accepted too
        assert (await generation_of(llm, mode, msg)).total_cost == stats.total_cost


@pytest.mark.parametrize("mode", ["invoke", "ainvoke"])
async def test_get_generation_gives_up_after_max_wait(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    llm = make(emulator)
    started = time.monotonic()
    with pytest.raises(errors.NotFoundError) as caught:
        await generation_of(llm, mode, "gen-0000-missing", max_wait=0.8)
    elapsed = time.monotonic() - started
    # asks at 0, 0.25, 0.75 and 0.8 s: bounded, then a message that says what to do
    assert emulator.count("/generation") == 4
    assert 0.75 <= elapsed < 10
    text = str(caught.value)
    assert "gen-0000-missing" in text and "max_wait" in text and KEY not in text
    assert caught.value.status_code == 404 and caught.value.generation_id == "gen-0000-missing"


async def test_get_generation_asks_once_with_no_wait(emulator: OpenRouterEmulator) -> None:
    with pytest.raises(errors.NotFoundError):
        await make(emulator).aget_generation("gen-x", max_wait=0)
    assert emulator.count("/generation") == 1


def test_get_generation_checks_its_arguments_first(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    with pytest.raises(ValueError, match="not a generation id"):
        llm.get_generation("  ")
    with pytest.raises(ValueError, match="max_wait"):
        llm.get_generation("gen-1", max_wait=-1)
    from langchain_core.messages import AIMessage

    with pytest.raises(ValueError, match="no generation id"):
        llm.get_generation(AIMessage(content="typed by hand"))
    assert emulator.requests == []


def test_get_generation_retries_server_errors(emulator: OpenRouterEmulator) -> None:
    emulator.set_get_reply("/generation", Reply.error(502, "upstream down"))
    with pytest.raises(errors.BadGatewayError):
        make(emulator, max_retries=1).get_generation("gen-1", max_wait=0)
    assert emulator.count("/generation") == 2  # the first try and one retry


def test_cancelled_and_cache_fields_read_from_the_record(emulator: OpenRouterEmulator) -> None:
    record = {
        "id": "gen-1",
        "total_cost": 0,
        "cache_discount": -0.0001,
        "cancelled": True,
        "response_cache_source_id": "gen-0",
        "latency": 812.5,
        "native_tokens_cached": 679,
        "tokens_prompt": "not a number",
    }
    emulator.set_get_reply("/generation", Reply.json(200, {"data": record}))
    stats = make(emulator).get_generation("gen-1")
    assert stats.cancelled is True and stats.total_cost == 0.0
    assert stats.cache_discount == -0.0001 and stats.response_cache_source_id == "gen-0"
    assert stats.latency_ms == 812.5 and stats.native_tokens_cached == 679
    assert stats.tokens_prompt is None  # a wrong type is not guessed at


# -- 402 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
async def test_402_names_the_affordable_max_tokens_and_it_works(mode: str) -> None:
    # gpt-4o-mini reserves its 16384-token maximum output when max_tokens is not set
    with running_emulator(credits=0.002) as emu:
        llm = make(emu)
        with pytest.raises(InsufficientCreditsError) as caught:
            await answer(llm, mode, "a long essay please")
        err = caught.value
        assert emu.count("/chat/completions") == 1  # a 402 is not retried
        assert err.status_code == 402 and err.requested_tokens == 16384
        affordable = err.affordable_tokens
        assert affordable is not None and 0 < affordable < 16384
        assert f"max_tokens={affordable}" in str(err) and KEY not in str(err)
        msg = await answer(llm, mode, "a long essay please", max_tokens=affordable)
        assert msg.content


def test_402_when_the_key_limit_is_spent(emulator: OpenRouterEmulator) -> None:
    emulator.key_info = {"limit": 0.0}
    with pytest.raises(InsufficientCreditsError) as caught:
        make(emulator).invoke("hi", max_tokens=10)
    err = caught.value
    assert err.affordable_tokens == 0
    assert "spending limit is used up" in str(err) and "settings/keys" in str(err)


def test_402_scripted_body_and_unknown_wording(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(
        Reply.insufficient_credits(32000, 27342),
        Reply.error(402, "Insufficient credits. Add more using https://openrouter.ai/credits"),
    )
    llm = make(emulator)
    with pytest.raises(InsufficientCreditsError) as first:
        llm.invoke("hi")
    assert (first.value.requested_tokens, first.value.affordable_tokens) == (32000, 27342)
    assert "max_tokens=27342" in str(first.value)
    with pytest.raises(InsufficientCreditsError) as second:
        llm.invoke("hi")
    assert second.value.affordable_tokens is None
    assert "lower max_tokens" in str(second.value)  # the general advice stays


async def test_concurrent_lookups_share_nothing(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    msgs = await llm.abatch([f"question {i}" for i in range(8)])
    stats = await asyncio.gather(*(llm.aget_generation(m) for m in msgs))
    assert [s.id for s in stats] == [m.response_metadata["id"] for m in msgs]
    assert sum(s.total_cost or 0 for s in stats) == pytest.approx(emulator.ledger.spent())
