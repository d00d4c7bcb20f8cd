"""``openrouter_usage()``: totals and budgets over real HTTP exchanges with the emulator, JSON and
streamed, sync and async, across threads, asyncio tasks, chains and agents."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import multiprocessing
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool

from langchain_openrouter_fenic import (
    BudgetExceededError,
    ChatOpenRouter,
    OpenRouterUsage,
    openrouter_usage,
)
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.modes import MODES, answer, answers, fast_model

MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-usage-secret-0123456789"


def make(emulator: OpenRouterEmulator, **kw: Any) -> ChatOpenRouter:
    llm: ChatOpenRouter = fast_model(emulator, MODEL, KEY, **kw)
    return llm


def exact(value: Any) -> Decimal:
    return Decimal(str(value))


def assert_totals_match(usage: OpenRouterUsage, messages: list[AIMessage]) -> None:
    """The tracker's totals are the sums of what the answers themselves report."""
    usages = [m.usage_metadata for m in messages]
    assert all(u is not None for u in usages)
    assert usage.requests == len(messages)
    assert usage.input_tokens == sum(u["input_tokens"] for u in usages if u)
    assert usage.output_tokens == sum(u["output_tokens"] for u in usages if u)
    total = sum((exact(m.response_metadata["cost"]) for m in messages), Decimal(0))
    assert exact(usage.cost) == exact(float(total))


@pytest.mark.parametrize("mode", MODES)
async def test_one_answer_counted_exactly(emulator: OpenRouterEmulator, mode: str) -> None:
    emulator.enqueue(Reply.text("Paris is the capital.", provider="Azure"))
    llm = make(emulator)
    async with openrouter_usage() as usage:
        msg = await answer(llm, mode, "Capital of France?")
    assert_totals_match(usage, [msg])
    assert usage.cost > 0 and usage.cost_estimated is False
    assert set(usage.by_model) == {MODEL} and set(usage.by_provider) == {"Azure"}
    assert usage.by_provider["Azure"].cost == usage.cost
    assert usage.by_model[MODEL].requests == 1 and usage.failed_requests == 0
    await answer(llm, mode, "after the block")  # outside: not counted
    assert usage.requests == 1


@pytest.mark.parametrize("mode", MODES)
async def test_200_requests_with_20_faults(emulator: OpenRouterEmulator, mode: str) -> None:
    """Retried requests count once, failed ones are not billed: the tracker, the answers and
    the emulator's own ledger agree to the last decimal."""
    # 10 retryable faults (a retry usually succeeds; a mid-stream error is final once a chunk
    # was streamed) and 10 that are never retried
    faults = [Reply.error(500, "Internal Server Error") for _ in range(4)]
    faults += [Reply.error(502, "Provider returned an invalid response") for _ in range(2)]
    faults += [Reply.drop_connection() for _ in range(2)]
    faults += [Reply.mid_stream_error(after_chunks=1) for _ in range(2)]
    faults += [Reply.provider_error(400) for _ in range(5)]
    faults += [Reply.insufficient_credits(16384, 900) for _ in range(2)]
    faults += [Reply.error(422, "Invalid value for top_k") for _ in range(3)]
    emulator.enqueue(*faults)
    emulator.latency = 0.005  # long enough for requests to overlap
    llm = make(emulator, max_retries=2)
    prompts = [f"Extract the city from: order {i} ships to Lyon" for i in range(200)]
    with openrouter_usage() as usage:
        results = await answers(llm, mode, prompts, max_concurrency=16)
    ok = [r for r in results if isinstance(r, AIMessage)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(ok) + len(failed) == 200 and len(failed) >= 10
    assert emulator.pending() == 0 and emulator.stats().attempts >= 208  # 8 retried faults
    assert_totals_match(usage, ok)
    assert usage.failed_requests == len(failed)
    assert usage.requests == emulator.ledger.billed()
    assert exact(usage.cost) == exact(emulator.ledger.spent())
    assert usage.by_model[MODEL].requests == len(ok)
    assert emulator.stats().peak_in_flight > 1  # the answers really landed concurrently


@pytest.mark.parametrize("mode", MODES)
async def test_budget_stops_before_sending(emulator: OpenRouterEmulator, mode: str) -> None:
    llm = make(emulator)
    one = (await answer(llm, mode, "how much is one")).response_metadata["cost"]
    sent_before = len(emulator.chat_requests())
    with pytest.raises(BudgetExceededError) as caught:
        async with openrouter_usage(budget=one * 2.5) as usage:
            for _ in range(10):
                await answer(llm, mode, "how much is one")
    assert usage.requests == 3  # 2 answers leave budget, the 3rd spends it, the 4th is refused
    assert len(emulator.chat_requests()) - sent_before == 3
    err = caught.value
    assert err.spent == pytest.approx(3 * one) and err.budget == pytest.approx(2.5 * one)
    assert err.requests == 3 and f"{err.spent:.6f}" in str(err)
    assert usage.failed_requests == 0  # a refusal is no failed request
    again = pickle.loads(pickle.dumps(err))
    assert (again.budget, again.spent, again.requests) == (err.budget, err.spent, err.requests)


async def test_budget_in_a_concurrent_batch(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    one = llm.invoke("same question").response_metadata["cost"]
    with openrouter_usage(budget=one * 5) as usage:
        results = await llm.abatch(
            ["same question"] * 40, config={"max_concurrency": 4}, return_exceptions=True
        )
    refused = [r for r in results if isinstance(r, BudgetExceededError)]
    assert refused and len(refused) + usage.requests == 40
    assert 5 <= usage.requests <= 5 + 4  # at most the in-flight requests pass the budget


def test_budget_must_be_usd() -> None:
    for wrong in (-1, "2", True):
        with pytest.raises(ValueError, match="budget"):
            openrouter_usage(budget=wrong)  # type: ignore[arg-type]
    assert openrouter_usage(budget=0).budget == 0.0


async def test_nested_blocks_and_threads_and_tasks(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    with openrouter_usage() as outer:
        llm.invoke("one")
        with openrouter_usage() as inner:
            # a pool that copies the context, as LangChain's batch does
            with ThreadPoolExecutor(4) as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, llm.invoke, f"thread {i}")
                    for i in range(4)
                ]
                [f.result() for f in futures]
            await asyncio.gather(*(asyncio.create_task(llm.ainvoke(f"task {i}")) for i in range(4)))
        # a thread that does not copy the context is not counted (documented)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(llm.invoke, "not counted").result()
    assert inner.requests == 8
    assert outer.requests == 9
    assert outer.cost > inner.cost > 0


async def test_chains_and_agents_are_counted(emulator: OpenRouterEmulator) -> None:
    from langchain.agents import create_agent

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    llm = make(emulator)
    chain = ChatPromptTemplate.from_template("Say {word}") | llm | StrOutputParser()
    agent = create_agent(llm, [get_weather])
    async with openrouter_usage() as usage:
        await chain.ainvoke({"word": "hello"})
        state = await agent.ainvoke({"messages": [("user", "Use the tool get_weather for Oslo")]})
    answers_ = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert len(answers_) == 2  # the tool call, then the answer with its result
    assert usage.requests == 3
    agent_cost = sum(exact(m.response_metadata["cost"]) for m in answers_)
    assert exact(usage.cost) > exact(float(agent_cost))


def test_estimated_and_unknown_costs_are_flagged(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    emulator.enqueue(Reply.text("no cost sent", usage={"cost": None}))
    with openrouter_usage() as usage:
        msg = llm.invoke("estimate me")
    assert msg.response_metadata["cost_estimated"] is True
    assert usage.cost_estimated is True and usage.cost == msg.response_metadata["cost"]
    exact_only = openrouter_usage()
    with exact_only:
        llm.invoke("exact")
    assert exact_only.cost_estimated is False


def test_by_model_and_provider_follow_the_answer(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    emulator.enqueue(
        Reply.text("a", provider="Azure"),
        Reply.text("b", provider="OpenAI"),
        Reply.text("c", provider="OpenAI"),
    )
    with openrouter_usage() as usage:
        llm.invoke("first")
        llm.invoke("second", model="anthropic/claude-sonnet-4")
        llm.invoke("third")
    assert usage.by_model[MODEL].requests == 2
    assert usage.by_model["anthropic/claude-sonnet-4"].requests == 1
    assert {k: v.requests for k, v in usage.by_provider.items()} == {"Azure": 1, "OpenAI": 2}
    total = sum(exact(v.cost) for v in usage.by_model.values())
    assert exact(usage.cost) == exact(float(total))
    assert "requests=3" in repr(usage) and KEY not in repr(usage)


def test_copies_are_detached_snapshots(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    with openrouter_usage(budget=1.0) as usage:
        llm.invoke("before the copy")
        snapshot = pickle.loads(pickle.dumps(usage))
        deep = copy.deepcopy(usage)
        llm.invoke("after the copy")
    assert usage.requests == 2
    for frozen in (snapshot, deep):
        assert frozen.requests == 1 and frozen.budget == 1.0
        assert frozen.by_model[MODEL].requests == 1 and frozen.cost > 0


def test_asyncio_run_loops_inside_one_block(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    with openrouter_usage() as usage:
        asyncio.run(llm.ainvoke("first loop"))
        asyncio.run(llm.ainvoke("second loop"))  # a new event loop: nothing of the first kept
    assert usage.requests == 2


def _count_in_child(llm: ChatOpenRouter, queue: Any) -> None:
    from langchain_openrouter_fenic.usage import _ACTIVE

    (inherited,) = _ACTIVE.get()  # the parent's block, copied by the fork
    llm.invoke("from the child")
    queue.put((inherited.requests, inherited.cost > 0))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork exists on POSIX only")
def test_a_forked_child_counts_into_its_own_copy(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    with openrouter_usage() as usage:
        llm.invoke("from the parent")
        usage._lock.acquire()  # held by the parent at the fork: the child must not deadlock
        try:
            child = context.Process(target=_count_in_child, args=(llm, queue))
            child.start()
        finally:
            usage._lock.release()
        child_requests, child_cost = queue.get(timeout=60)
        child.join(timeout=60)
    assert child.exitcode == 0
    assert child_requests == 2 and child_cost  # the parent's answer, then the child's
    assert usage.requests == 1  # the parent's block is not touched by the child
