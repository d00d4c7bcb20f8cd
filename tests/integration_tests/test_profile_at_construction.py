"""``llm.profile`` is there from the first line, so LangChain's agents choose one strategy.

``langchain.agents.create_agent(model, tools, response_format=Schema)`` reads
``model.profile["structured_output"]`` on every model call, and falls back to a name table that
does not know most OpenRouter models. A profile that appeared only after the first request made
call 1 use a tool strategy and call 2 ``json_schema`` in the same run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.factory import FALLBACK_MODELS_WITH_STRUCTURED_OUTPUT
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_openrouter_fenic import ChatOpenRouter
from langchain_openrouter_fenic.catalog import ModelCatalog
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.emulator_catalog import load_snapshot_catalog

AGENT_MODEL = "mistralai/mistral-nemo"  # lists structured_outputs, tools and tool_choice


class Weather(BaseModel):
    city: str
    temperature_c: float


@tool
def get_weather(city: str) -> str:
    """The current weather of a city."""
    return f"21 C and sunny in {city}"


@pytest.fixture
def emu() -> Iterator[OpenRouterEmulator]:
    with OpenRouterEmulator().start() as server:
        yield server


def _llm(emu: OpenRouterEmulator, model: str = AGENT_MODEL) -> ChatOpenRouter:
    return ChatOpenRouter(model=model, api_key="sk-test", base_url=emu.url, max_retries=0)


def test_the_model_is_one_langchains_name_table_does_not_know() -> None:
    assert not any(re.search(p, AGENT_MODEL) for p in FALLBACK_MODELS_WITH_STRUCTURED_OUTPUT)


def _run_agent_twice(emu: OpenRouterEmulator, llm: ChatOpenRouter) -> list[dict[str, Any]]:
    agent = create_agent(llm, tools=[get_weather], response_format=Weather)
    emu.enqueue(Reply.tool_call("get_weather", {"city": "Paris"}))  # call 1 uses the tool
    for question in ("What is the weather in Paris?", "And in Rome?"):
        out = agent.invoke({"messages": [{"role": "user", "content": question}]})
        assert isinstance(out["structured_response"], Weather)
    return [r.json for r in emu.chat_requests()]


@pytest.mark.parametrize("cache", ["cold", "warm-memory", "warm-disk"])
def test_create_agent_uses_the_same_strategy_on_every_call(
    emu: OpenRouterEmulator, cache: str
) -> None:
    if cache != "cold":
        _llm(emu).model_info()  # the catalog is now in memory and on disk
        emu.reset()
    if cache == "warm-disk":
        ModelCatalog.clear_shared()  # a new worker process: only the disk copy
    llm = _llm(emu)
    assert llm.profile is not None and llm.profile["structured_output"] is True
    assert emu.requests == []  # construction never waits on the network
    bodies = _run_agent_twice(emu, llm)
    assert len(bodies) == 3  # run 1: tool call, then the answer; run 2: the answer
    for body in bodies:  # provider-native json_schema on every call, never a schema tool
        assert body["response_format"]["type"] == "json_schema"
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"]


def test_the_profile_stays_the_same_for_the_life_of_the_instance() -> None:
    # the live catalog has dropped structured_outputs since the shipped snapshot was taken
    live = load_snapshot_catalog()
    for entry in live:
        if entry["id"] == AGENT_MODEL:
            entry["supported_parameters"].remove("structured_outputs")
    with OpenRouterEmulator(catalog=live).start() as emu:
        llm = _llm(emu)
        before = dict(llm.profile or {})
        assert before["structured_output"] is True  # from the snapshot
        llm.invoke("hi")
        assert dict(llm.profile or {}) == before
        assert _llm(emu).profile["structured_output"] is False  # type: ignore[index]


def test_profile_sources_in_order(emu: OpenRouterEmulator) -> None:
    """Memory, else a fresh disk copy, else the shipped snapshot; unknown everywhere: None."""
    from langchain_openrouter_fenic.catalog.snapshot import shipped_snapshot

    assert _llm(emu, "nobody/new-model").profile is None
    snapshot_name = shipped_snapshot().index.resolve(AGENT_MODEL).name  # type: ignore[union-attr]
    assert _llm(emu).profile["name"] == snapshot_name  # type: ignore[index]
    renamed = load_snapshot_catalog()
    for entry in renamed:
        if entry["id"] == AGENT_MODEL:
            entry["name"] = "Mistral: Nemo (live)"
    with OpenRouterEmulator(catalog=renamed).start() as live:
        _llm(live).model_info()
        assert _llm(live).profile["name"] == "Mistral: Nemo (live)"  # type: ignore[index]
        ModelCatalog.clear_shared()
        assert _llm(live).profile["name"] == "Mistral: Nemo (live)"  # type: ignore[index]
        assert live.count("/models/user") == 1
