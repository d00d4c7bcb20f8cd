"""The LangGraph agent, replayed from cassettes: each tool, a conversation, streaming, async,
and a recorded rate limit that the retry policy gets through without waiting on replay."""

from __future__ import annotations

import re

import pytest
from example_app.agent import build_agent
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

pytestmark = [pytest.mark.vcr, pytest.mark.openrouter_cassette]

WEATHER = "Use the get_weather tool: what is the weather in Paris?"
CONVERT = "Convert 21 degrees with celsius_to_fahrenheit."


def _tool_calls(messages: list) -> list[tuple[str, dict]]:
    return [
        (c["name"], c["args"]) for m in messages if isinstance(m, AIMessage) for c in m.tool_calls
    ]


def _tool_results(messages: list) -> list[str]:
    return [str(m.content) for m in messages if isinstance(m, ToolMessage)]


def test_the_agent_uses_the_weather_tool() -> None:
    result = build_agent().invoke({"messages": [("user", WEATHER)]})

    assert _tool_calls(result["messages"]) == [("get_weather", {"city": "Paris"})]
    assert _tool_results(result["messages"]) == ["21 C in Paris"]
    assert "21 C in Paris" in result["messages"][-1].content


def test_the_agent_uses_the_conversion_tool() -> None:
    result = build_agent().invoke({"messages": [("user", CONVERT)]})

    assert _tool_calls(result["messages"]) == [("celsius_to_fahrenheit", {"celsius": 21})]
    assert _tool_results(result["messages"]) == ["69.8 F"]
    assert "69.8 F" in result["messages"][-1].content


def test_the_agent_keeps_the_conversation() -> None:
    agent = build_agent(checkpointer=InMemorySaver())
    thread = {"configurable": {"thread_id": "one"}}

    agent.invoke({"messages": [("user", WEATHER)]}, thread)
    result = agent.invoke({"messages": [("user", CONVERT)]}, thread)

    assert [name for name, _ in _tool_calls(result["messages"])] == [
        "get_weather",
        "celsius_to_fahrenheit",
    ]
    assert _tool_results(result["messages"]) == ["21 C in Paris", "69.8 F"]


def test_the_agent_streams_its_answer() -> None:
    pieces = [
        chunk.content
        for chunk, _ in build_agent().stream(
            {"messages": [("user", WEATHER)]}, stream_mode="messages"
        )
        if isinstance(chunk, AIMessage) and isinstance(chunk.content, str)
    ]
    assert "21 C in Paris" in "".join(pieces)


async def test_the_agent_async() -> None:
    result = await build_agent().ainvoke({"messages": [("user", CONVERT)]})

    assert _tool_results(result["messages"]) == ["69.8 F"]


def test_the_agent_gets_through_a_rate_limit(recording_server, caplog) -> None:
    if recording_server is not None:  # recording: the emulator answers the first call with a 429
        recording_server.rate_limit_next_call(retry_after=2)

    with caplog.at_level("DEBUG", logger="langchain_openrouter_fenic"):
        result = build_agent().invoke({"messages": [("user", WEATHER)]})

    assert _tool_results(result["messages"]) == ["21 C in Paris"]
    # the recorded 429 went through the retry policy, which computed the server's wait (2 s,
    # read against the answer's Date: up to a second more) -- and, replaying, did not sleep it
    retries = [
        r.getMessage() for r in caplog.records if "answered 429; retry 1 of 2" in r.getMessage()
    ]
    assert len(retries) == 1 and re.search(r"in [23]\.\d+ s$", retries[0]), retries
