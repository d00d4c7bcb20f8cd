"""ChatOpenRouter end to end against the loopback emulator: the HTTP boundary, no mocks."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from pydantic import ValidationError

from langchain_openrouter_fenic import ChatOpenRouter, errors
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.statuses import DOCUMENTED_STATUSES

MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-test-secret-0123456789"


def make(emulator: OpenRouterEmulator, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"model": MODEL, "api_key": KEY, "base_url": emulator.url}
    options.update(kw)
    return ChatOpenRouter(**options)


def test_invoke_maps_the_answer(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.text("Paris.", reasoning="capital of France", provider="Azure"))
    msg = make(emulator).invoke("Capital of France?")
    assert msg.content == "Paris."
    assert msg.additional_kwargs["reasoning_content"] == "capital of France"
    meta = msg.response_metadata
    assert meta["provider"] == "Azure" and meta["model_provider"] == "openrouter"
    assert meta["model_name"] == MODEL and meta["finish_reason"] == "stop"
    assert meta["cost"] > 0 and "cost_estimated" not in meta
    assert msg.usage_metadata is not None and msg.usage_metadata["total_tokens"] > 0
    sent = emulator.chat_requests()[-1]
    assert sent.json["model"] == MODEL
    assert sent.json["messages"] == [{"role": "user", "content": "Capital of France?"}]
    assert sent.headers["authorization"] == f"Bearer {KEY}"


def test_attribution_headers(emulator: OpenRouterEmulator) -> None:
    make(emulator, app_url="https://example.org/app", app_title="Demo App").invoke("hi")
    headers = emulator.chat_requests()[-1].headers
    assert headers["http-referer"] == "https://example.org/app"
    assert headers["x-title"] == "Demo App" and headers["x-openrouter-title"] == "Demo App"


def test_stream_aggregates_like_invoke(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    chunks = list(llm.stream("tell me a story about a fox"))
    assert len(chunks) > 2
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    invoked = llm.invoke("tell me a story about a fox")
    assert whole.content == invoked.content
    assert whole.usage_metadata == invoked.usage_metadata
    for key in ("provider", "model_name", "finish_reason", "native_finish_reason", "cost"):
        assert whole.response_metadata[key] == invoked.response_metadata[key], key
    assert emulator.chat_requests()[0].json["stream"] is True
    assert "stream" not in emulator.chat_requests()[1].json


async def test_async_paths_and_batches(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator)
    msg = await llm.ainvoke("hello there")
    streamed = [c async for c in llm.astream("hello there")]
    assert "".join(str(c.content) for c in streamed) == msg.content
    sync_batch = llm.batch(["one", "two", "three"])
    async_batch = await llm.abatch(["one", "two", "three"])
    assert [m.content for m in sync_batch] == [m.content for m in async_batch]
    assert len(emulator.chat_requests()) == 8


def test_streaming_flag_streams_under_invoke(emulator: OpenRouterEmulator) -> None:
    msg = make(emulator, streaming=True).invoke("hi")
    assert emulator.chat_requests()[-1].json["stream"] is True
    assert msg.content and msg.response_metadata["provider"] == "Emulated"


@pytest.mark.parametrize("status", sorted(DOCUMENTED_STATUSES))
def test_every_documented_status_raises_its_class_after_one_request(
    emulator: OpenRouterEmulator, status: int
) -> None:
    emulator.enqueue(Reply.error(status, f"emulated failure {status}"))
    with pytest.raises(errors.OpenRouterError) as caught:
        make(emulator, max_retries=0).invoke("hi")
    assert type(caught.value) is DOCUMENTED_STATUSES[status]
    assert caught.value.status_code == status
    assert f"emulated failure {status}" in str(caught.value)
    assert len(emulator.chat_requests()) == 1  # max_retries=0: exactly one request


def test_provider_error_names_provider_and_suggests_exclude(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.provider_error(status=400, provider="Anthropic", raw="bad image"))
    with pytest.raises(errors.ProviderError) as caught:
        make(emulator).invoke("hi")
    assert caught.value.provider_name == "Anthropic"
    assert "bad image" in str(caught.value) and "exclude=['Anthropic']" in str(caught.value)


def test_retryable_status_is_retried_then_succeeds(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.error(502, "upstream down"), Reply.error(503, "no provider"))
    msg = make(emulator, max_retries=2).invoke("hi")
    assert msg.content
    assert len(emulator.chat_requests()) == 3


def test_non_retryable_status_is_not_retried(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.error(400, "bad request"))
    with pytest.raises(errors.BadRequestError):
        make(emulator, max_retries=3).invoke("hi")
    assert len(emulator.chat_requests()) == 1


def test_mid_stream_error_keeps_delivered_chunks(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.mid_stream_error(after_chunks=2, message="Provider disconnected"))
    received: list[Any] = []
    with pytest.raises(errors.OpenRouterError) as caught:
        for chunk in make(emulator, max_retries=0).stream("tell me a long story"):
            received.append(chunk)
    assert len(received) >= 1 and "".join(str(c.content) for c in received)
    assert "Provider disconnected" in str(caught.value)


def test_error_inside_a_200_json_body(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.error_in_200(message="Upstream model crashed"))
    with pytest.raises(errors.OpenRouterError, match="Upstream model crashed"):
        make(emulator, max_retries=0).invoke("hi")


def test_malformed_json_and_dropped_connection(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.malformed_json())
    with pytest.raises(errors.ResponseParseError):
        make(emulator, max_retries=0).invoke("hi")
    emulator.enqueue(Reply.drop_connection())
    with pytest.raises(errors.APIConnectionError):
        make(emulator, max_retries=0).invoke("hi")


def test_connection_drop_is_retried(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.drop_connection())
    assert make(emulator, max_retries=1).invoke("hi").content
    assert len(emulator.chat_requests()) == 2


def test_timeout_is_in_seconds(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.default().delayed(3.0))
    start = time.monotonic()
    with pytest.raises(errors.APITimeoutError, match="timeout"):
        make(emulator, timeout=1, max_retries=0).invoke("hi")
    elapsed = time.monotonic() - start
    assert 0.9 <= elapsed < 2.5, elapsed


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("any", "required"),
        (True, "required"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
    ],
)
def test_bind_tools_tool_choice_on_the_wire(
    emulator: OpenRouterEmulator, choice: Any, wire: Any
) -> None:
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return city

    llm = make(emulator).bind_tools(
        [get_weather], tool_choice=choice, parallel_tool_calls=False, strict=True
    )
    llm.invoke("What is the weather in Paris?")
    body = emulator.chat_requests()[-1].json
    assert body["tool_choice"] == wire
    assert body["parallel_tool_calls"] is False
    assert body["tools"][0]["function"]["name"] == "get_weather"
    assert body["tools"][0]["function"]["strict"] is True


def test_bind_tools_unknown_tool_name_fails_before_any_request(
    emulator: OpenRouterEmulator,
) -> None:
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return city

    with pytest.raises(ValueError, match="get_time"):
        make(emulator).bind_tools([get_weather], tool_choice="get_time")
    assert emulator.chat_requests() == []


def test_tool_turn_and_reasoning_details_go_back_unchanged(emulator: OpenRouterEmulator) -> None:
    details = [{"type": "reasoning.encrypted", "data": "opaque==", "id": "rs_1",
                "format": "openai-responses-v1", "index": 0}]  # fmt: skip
    previous = AIMessage(
        content="",
        tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
        additional_kwargs={"reasoning_details": details},
    )
    history = [HumanMessage("weather?"), previous, ToolMessage("18 C", tool_call_id="call_1")]
    make(emulator).invoke(history)
    sent = emulator.chat_requests()[-1].json["messages"]
    assert sent[1]["reasoning_details"] == details
    assert sent[1]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Paris"}',
    }
    assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "18 C"}


def test_tool_call_reply_is_parsed(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.tool_call("get_weather", {"city": "Oslo"}))
    msg = make(emulator).invoke("weather in Oslo?")
    assert msg.tool_calls[0]["name"] == "get_weather"
    assert msg.tool_calls[0]["args"] == {"city": "Oslo"}
    assert msg.response_metadata["finish_reason"] == "tool_calls"


def test_invalid_tool_arguments_go_to_invalid_tool_calls(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.tool_call("get_weather", '{"city": "Os'))
    msg = make(emulator).invoke("weather in Oslo?")
    assert msg.tool_calls == []
    assert msg.invalid_tool_calls[0]["name"] == "get_weather"


def test_model_kwargs_and_call_kwargs_reach_the_body(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator, model_kwargs={"user": "u-1", "plugins": [{"id": "web"}]}, temperature=0.0)
    llm.invoke("hi", stop=["END"], session_id="s-9")
    body = emulator.chat_requests()[-1].json
    assert body["user"] == "u-1" and body["plugins"] == [{"id": "web"}]
    assert body["temperature"] == 0.0 and body["stop"] == ["END"] and body["session_id"] == "s-9"


def test_unknown_constructor_argument_is_kept_and_warned(emulator: OpenRouterEmulator) -> None:
    with pytest.warns(UserWarning, match="transforms"):
        llm = make(emulator, transforms=["middle-out"])
    llm.invoke("hi")
    assert emulator.chat_requests()[-1].json["transforms"] == ["middle-out"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"model": ""}, "model"),
        ({"max_retries": -1}, "max_retries"),
        ({"temperature": "hot"}, "temperature"),
        ({"model_kwargs": {"callback": object()}}, "model_kwargs['callback']"),
        ({"model_kwargs": {"temperature": 5}}, "model_kwargs['temperature']=5"),
        ({"model_kwargs": {"timeout": 5}}, "model_kwargs['timeout']"),
        ({"model": "   "}, "model"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"default_profile": "nope"}, "default_profile"),
    ],
)
def test_bad_input_names_the_field_before_any_request(
    emulator: OpenRouterEmulator, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises((ValidationError, ValueError)) as caught:
        make(emulator, **kwargs)
    assert field in str(caught.value)
    assert emulator.requests == []


def test_missing_api_key_is_a_clear_error(emulator: OpenRouterEmulator) -> None:
    with pytest.raises(ValueError, match="OPENROUTER_API_KEY"):
        ChatOpenRouter(model=MODEL, base_url=emulator.url)
    assert emulator.requests == []


def test_api_key_never_in_repr_logs_or_dumps(
    emulator: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    from langchain_core.load import dumps

    caplog.set_level(logging.DEBUG)
    llm = make(emulator)
    llm.invoke("hi")
    list(llm.stream("hi"))
    emulator.enqueue(Reply.error(401, "User not found."))
    with pytest.raises(errors.AuthenticationError) as caught:
        llm.invoke("hi")
    for text in (repr(llm), str(llm), dumps(llm), caplog.text, str(caught.value),
                 repr(llm.catalog), repr(llm.rate_limiter)):  # fmt: skip
        assert KEY not in text
    assert caplog.records, "debug logging produced nothing to check"


def test_cassettes_never_keep_the_key(emulator: OpenRouterEmulator, tmp_path: Any) -> None:
    from tests.conftest import project_vcr

    path = tmp_path / "recorded.yaml"
    with project_vcr(record_mode="all").use_cassette(str(path)):
        make(emulator).invoke("hi")
    text = path.read_text()
    assert "chat/completions" in text and "content-type" in text.lower()
    assert KEY not in text and "authorization" not in text.lower()


def test_langchain_agent_loop(emulator: OpenRouterEmulator) -> None:
    """A LangChain v1 agent (LangGraph underneath) runs a full tool loop."""
    from langchain.agents import create_agent

    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"{city}: sunny, 21 C"

    agent = create_agent(make(emulator), tools=[get_weather])
    state = agent.invoke({"messages": [("user", "What is the weather in Paris? Use the tool.")]})
    messages = state["messages"]
    assert any(isinstance(m, ToolMessage) and "sunny" in str(m.content) for m in messages)
    assert isinstance(messages[-1], AIMessage) and "sunny" in str(messages[-1].content)
    assert len(emulator.chat_requests()) == 2


def test_one_shared_limiter_per_key_with_free_models_apart(emulator: OpenRouterEmulator) -> None:
    from langchain_core.rate_limiters import InMemoryRateLimiter

    from langchain_openrouter_fenic import AdaptiveRateLimiter

    first, second = make(emulator), make(emulator, temperature=0.5)
    free = make(emulator, model="google/gemma-3-27b-it:free")
    other_key = make(emulator, api_key="sk-or-v1-another-key")
    assert isinstance(first.rate_limiter, AdaptiveRateLimiter)
    assert first.rate_limiter is second.rate_limiter
    assert free.rate_limiter is not first.rate_limiter
    assert other_key.rate_limiter is not first.rate_limiter
    own = InMemoryRateLimiter(requests_per_second=100)
    assert make(emulator, rate_limiter=own).rate_limiter is own


def test_structured_output_without_a_catalog_says_how_to_build_anyway(
    emulator: OpenRouterEmulator,
) -> None:
    from pydantic import BaseModel

    class City(BaseModel):
        name: str

    for path in ("/models/user", "/models"):
        emulator.set_get_reply(path, Reply.error(500, "catalog down"))
    llm = make(emulator, max_retries=0)
    with pytest.raises(errors.ServerError, match="strict_capabilities=False"):
        llm.with_structured_output(City)
    chain = llm.with_structured_output(City, method="json_schema", strict_capabilities=False)
    assert isinstance(chain.invoke("The capital of France is Paris."), City)
    assert "response_format" in emulator.chat_requests()[-1].json
