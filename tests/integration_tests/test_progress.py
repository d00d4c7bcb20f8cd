"""``OpenRouterProgress`` over real batches against the emulator: items done and failed, tokens,
cost, the limiter's rate and pauses; a tqdm bar, or log lines without tqdm."""

from __future__ import annotations

import io
import logging
import sys
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_openrouter_fenic import AdaptiveRateLimiter, ChatOpenRouter, OpenRouterProgress
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.modes import MODES, answers, fast_model

MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-progress-secret-0123456789"
LOGGER = "langchain_openrouter_fenic.progress"


def make(emulator: OpenRouterEmulator, **kw: Any) -> ChatOpenRouter:
    llm: ChatOpenRouter = fast_model(emulator, MODEL, KEY, **kw)
    return llm


def exact_sum(messages: list[AIMessage]) -> Decimal:
    return sum((Decimal(str(m.response_metadata["cost"])) for m in messages), Decimal(0))


@pytest.mark.parametrize("mode", MODES)
async def test_log_lines_count_items_tokens_and_cost(
    emulator: OpenRouterEmulator, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.enqueue(*[Reply.provider_error(400) for _ in range(3)])
    llm = make(emulator, max_retries=0)
    prompts = [f"Extract the city: parcel {i} to Porto" for i in range(30)]
    caplog.set_level(logging.INFO, logger=LOGGER)
    with OpenRouterProgress(total=30, bar=False, rate_limiter=llm.rate_limiter) as progress:
        results = await answers(llm, mode, prompts, callbacks=[progress], max_concurrency=8)
    ok = [r for r in results if isinstance(r, AIMessage)]
    assert (progress.done, progress.failed) == (27, 3) == (len(ok), 30 - len(ok))
    totals = progress.totals()
    assert totals.requests == 27
    assert Decimal(str(totals.cost)) == Decimal(str(float(exact_sum(ok))))
    assert totals.total_tokens == sum(
        m.usage_metadata["total_tokens"] for m in ok if m.usage_metadata
    )
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert lines, "no progress line was logged"
    last = lines[-1]
    assert "30/30 done" not in last and "27/30 done, 3 failed" in last
    assert f"{totals.total_tokens:,} tokens" in last and "req/min" in last
    assert KEY not in " ".join(lines)


def test_log_lines_are_periodic(
    emulator: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0  # every event is a second later
        return now[0]

    llm = make(emulator)
    caplog.set_level(logging.INFO, logger=LOGGER)
    progress = OpenRouterProgress(total=40, bar=False, log_every=10, clock=clock)
    llm.batch([f"q {i}" for i in range(40)], config={"callbacks": [progress], "max_concurrency": 4})
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    # one line per 10 s of events, plus the final one; not one line per item
    assert 3 <= len(lines) <= 6 and "40/40 done" in lines[-1]
    progress.close()
    assert "finished" in caplog.records[-1].getMessage()


@pytest.mark.parametrize("mode", ["invoke", "astream"])
async def test_tqdm_bar(emulator: OpenRouterEmulator, mode: str) -> None:
    import tqdm  # noqa: F401  (a dev dependency: the bar path is tested in every run)

    out = io.StringIO()
    emulator.enqueue(Reply.error(422, "Invalid value for top_k"))
    llm = make(emulator, max_retries=0)
    with OpenRouterProgress(total=12, file=out, desc="extract") as progress:
        await answers(llm, mode, [f"item {i}" for i in range(12)], callbacks=[progress])
    assert progress.uses_bar
    drawn = out.getvalue()
    assert "extract" in drawn and "12/12" in drawn and "1 failed" in drawn and "tokens" in drawn


def test_without_tqdm_it_falls_back_to_log_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    assert OpenRouterProgress(total=3).uses_bar is False
    with pytest.raises(ImportError, match=r"langchain-openrouter-fenic\[progress\]"):
        OpenRouterProgress(total=3, bar=True)


def test_chain_and_agent_items(emulator: OpenRouterEmulator) -> None:
    from langchain.agents import create_agent
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Rain in {city}"

    llm = make(emulator)
    chain = ChatPromptTemplate.from_template("Say {word}") | llm | StrOutputParser()
    progress = OpenRouterProgress(total=5, bar=False)
    chain.batch([{"word": w} for w in "abcd"], config={"callbacks": [progress]})
    agent = create_agent(llm, [get_weather])
    agent.invoke(
        {"messages": [("user", "Use the tool get_weather for Bergen")]},
        config={"callbacks": [progress]},
    )
    # 5 items (4 chain inputs, 1 agent run), 6 model calls (the agent called the model twice)
    assert (progress.done, progress.failed) == (5, 0)
    assert progress.totals().requests == 6


def test_limiter_rate_and_pauses_are_shown() -> None:
    limiter = AdaptiveRateLimiter(requests_per_minute=600)
    progress = OpenRouterProgress(bar=False, rate_limiter=limiter)
    assert "600 req/min" in progress.summary() and "paused" not in progress.summary()
    limiter.record_rate_limited(RateLimitSignal(retry_after=30.0))
    shown = progress.summary()
    assert "paused" in shown and progress.pauses == 1
    assert "450 req/min" in shown  # the multiplicative decrease after a 429
    progress.summary()
    assert progress.pauses == 1  # the same pause, seen twice, is one pause


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="total"):
        OpenRouterProgress(total=-1)
    with pytest.raises(ValueError, match="log_every"):
        OpenRouterProgress(log_every=0)
    assert "0 done" in repr(OpenRouterProgress(bar=False))
