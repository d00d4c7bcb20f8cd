"""Structured output that the real service accepts, against the emulator that enforces
``provider.require_parameters`` the way OpenRouter does (each endpoint's ``supported_parameters``,
the real 404 body).

- Over all 371 models of the real catalog (``../shared/openrouter-recordings``), for both
  strategy preferences, automatic choice and ``bind_tools``: no request carries
  ``require_parameters`` with a parameter the model does not list (checked independently of the
  emulator too), and every request is answered 200.
- Fallback ``models`` steer the method; the 404 recovery fires only on "can handle the requested
  parameters"; Anthropic's manual thinking never gets a forced tool call; ``dict[str, X]``
  fields are never emptied by strict mode.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.rate_limiters import BaseRateLimiter
from pydantic import BaseModel

from langchain_openrouter_fenic import (
    ChatOpenRouter,
    NoEndpointsError,
    NoEndpointsForParametersError,
    StructuredOutputUnsupportedError,
    ToolsUnsupportedError,
)
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.emulator_routing import REQUIRED_PARAMETERS_MESSAGE, unsupported_parameters

KEY = "sk-or-v1-service-test"
REAL_CATALOG = (
    Path(__file__).resolve().parents[3] / "shared/openrouter-recordings/catalog-2026-05-01.json"
)
if not REAL_CATALOG.exists():  # a worktree elsewhere: the same snapshot ships in the package
    REAL_CATALOG = (
        Path(__file__).resolve().parents[2]
        / "langchain_openrouter_fenic/data/catalog-snapshot.json"
    )


def _entries() -> list[dict[str, Any]]:
    raw = json.loads(REAL_CATALOG.read_text("utf-8"))
    return list(raw["data"] if isinstance(raw, dict) else raw)


ENTRIES = _entries()
LISTED = {m["id"]: list(m.get("supported_parameters") or []) for m in ENTRIES}


class _Unlimited(BaseRateLimiter):
    def acquire(self, *, blocking: bool = True) -> bool:
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        return True


@pytest.fixture(scope="module")
def emu() -> Iterator[OpenRouterEmulator]:
    server = OpenRouterEmulator(catalog=ENTRIES).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh(emu: OpenRouterEmulator) -> None:
    emu.reset()


def make(emu: OpenRouterEmulator, model: str, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"rate_limiter": _Unlimited(), "max_retries": 0, **kw}
    return ChatOpenRouter(model=model, api_key=KEY, base_url=emu.url, **options)


class Answer(BaseModel):
    """The answer."""

    answer: str
    confidence: float


def get_weather(city: str) -> str:
    """The weather of a city."""
    return city


# sampling settings a user might give: each is dropped where the model does not list it
SAMPLING = {"temperature": 0.2, "top_p": 0.9, "seed": 7, "max_tokens": 64}


def _violations(emu: OpenRouterEmulator) -> list[tuple[str, list[str]]]:
    """Requests with require_parameters and a parameter their model does not list."""
    found = []
    for request in emu.chat_requests():
        body = request.json
        if (body.get("provider") or {}).get("require_parameters") is True:
            missing = unsupported_parameters(body, LISTED[body["model"]])
            if missing:
                found.append((body["model"], missing))
    return found


def test_the_real_catalog_is_used() -> None:
    assert len(ENTRIES) == 371
    tools = [m for m, p in LISTED.items() if "tools" in p]
    assert len(tools) == 272
    assert sum("parallel_tool_calls" in LISTED[m] for m in tools) == 5


@pytest.mark.parametrize("preference", ["prefer_response_format", "prefer_tools", None])
def test_structured_output_over_the_real_catalog_never_sends_an_unlisted_parameter(
    emu: OpenRouterEmulator, preference: str | None
) -> None:
    served, refused, failures = 0, 0, []
    for model_id in LISTED:
        llm = make(emu, model_id, structured_output_strategy=preference, **SAMPLING)
        try:
            structured = llm.with_structured_output(Answer)
        except StructuredOutputUnsupportedError:
            refused += 1  # neither strategy: nothing is sent
            continue
        try:
            result = structured.invoke("Answer 'yes' with confidence 0.9.")
            assert isinstance(result, Answer)
            served += 1
        except Exception as exc:  # collected, so one run reports every model that fails
            failures.append((model_id, repr(exc)[:200]))
    assert failures == []
    assert (served, refused) == (302, 69)
    assert _violations(emu) == []
    # every request carried require_parameters and got a 200
    bodies = [r.json for r in emu.chat_requests()]
    assert len(bodies) == served
    assert all(b["provider"]["require_parameters"] is True for b in bodies)


def test_bind_tools_over_the_real_catalog_never_sends_an_unlisted_parameter(
    emu: OpenRouterEmulator,
) -> None:
    served, refused, failures = 0, 0, []
    for model_id in LISTED:
        llm = make(emu, model_id, provider={"require_parameters": True}, **SAMPLING)
        try:
            bound = llm.bind_tools(
                [get_weather], tool_choice="get_weather", parallel_tool_calls=False
            )
        except ToolsUnsupportedError:
            refused += 1
            continue
        try:
            message = bound.invoke("What is the weather in Oslo?")
            assert message.tool_calls and message.tool_calls[0]["name"] == "get_weather"
            served += 1
        except Exception as exc:
            failures.append((model_id, repr(exc)[:200]))
    assert failures == []
    assert (served, refused) == (265, 106)  # 265 list tools and tool_choice
    assert _violations(emu) == []
    sent_parallel = [
        r.json["model"] for r in emu.chat_requests() if "parallel_tool_calls" in r.json
    ]
    assert sorted(sent_parallel) == sorted(m for m in LISTED if "parallel_tool_calls" in LISTED[m])


def test_json_mode_over_the_real_catalog_never_sends_an_unlisted_parameter(
    emu: OpenRouterEmulator,
) -> None:
    """``method="json_mode"`` sends ``response_format: json_object`` with require_parameters:
    every model that lists ``response_format`` is served; the others are refused up front."""
    served, refused, failures = 0, 0, []
    for model_id in LISTED:
        llm = make(emu, model_id, **SAMPLING)
        try:
            structured = llm.with_structured_output(method="json_mode")
        except StructuredOutputUnsupportedError:
            refused += 1
            continue
        try:
            result = structured.invoke('Answer in JSON: {"answer": "yes", "confidence": 0.9}')
            assert isinstance(result, dict)
            served += 1
        except Exception as exc:
            failures.append((model_id, repr(exc)[:200]))
    assert failures == []
    listing = sum("response_format" in LISTED[m] for m in LISTED)
    assert (served, refused) == (listing, len(LISTED) - listing)
    assert _violations(emu) == []
    bodies = [r.json for r in emu.chat_requests()]
    assert all(b["response_format"] == {"type": "json_object"} for b in bodies)
    assert all(b["provider"]["require_parameters"] is True for b in bodies)


def test_the_emulator_refuses_what_the_old_request_sent(emu: OpenRouterEmulator) -> None:
    """The class of bug: parallel_tool_calls with require_parameters on Claude is a 404."""
    body = {
        "model": "anthropic/claude-sonnet-4",
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "parallel_tool_calls": False,
        "provider": {"require_parameters": True},
    }
    request = urllib.request.Request(
        f"{emu.url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 404
    assert json.loads(caught.value.read())["error"]["message"] == REQUIRED_PARAMETERS_MESSAGE
    body.pop("parallel_tool_calls")  # what the client sends now: served
    request.data = json.dumps(body).encode()
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


# --------------------------------------------------------------------------------------------
# fallback models

BOTH = "openai/gpt-4o-mini"  # structured_outputs and tools + tool_choice
TOOLS_ONLY = "anthropic/claude-sonnet-4"  # tools + tool_choice, no structured_outputs
JSON_ONLY = "cohere/command-a"  # structured_outputs, no tools


def test_fallbacks_choose_a_method_every_model_supports(emu: OpenRouterEmulator) -> None:
    llm = make(emu, BOTH, models=[TOOLS_ONLY])
    result = llm.with_structured_output(Answer).invoke("Answer 'yes' with confidence 0.5.")
    assert isinstance(result, Answer)
    (body,) = [r.json for r in emu.chat_requests()]
    assert "response_format" not in body and body["tool_choice"]["function"]["name"] == "Answer"
    assert body["models"] == [TOOLS_ONLY]


def test_without_fallbacks_the_same_model_uses_json_schema(emu: OpenRouterEmulator) -> None:
    make(emu, BOTH).with_structured_output(Answer).invoke("Answer 'yes' with confidence 0.5.")
    assert "response_format" in emu.chat_requests()[-1].json


def test_a_fallback_that_cannot_serve_is_named_in_a_warning(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    structured = make(emu, JSON_ONLY, models=[TOOLS_ONLY]).with_structured_output(Answer)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(TOOLS_ONLY in m and "structured_outputs" in m for m in warned), warned
    structured.invoke("Answer 'yes' with confidence 0.5.")
    assert "response_format" in emu.chat_requests()[-1].json


def test_the_emulator_serves_a_fallback_only_if_it_can_handle_the_parameters(
    emu: OpenRouterEmulator,
) -> None:
    """With the main model's endpoints unable, OpenRouter tries the fallbacks: a json_schema
    request cannot be served by a tools-only fallback (the old request's dead end)."""
    emu.endpoints[BOTH] = [
        {"provider_name": "Acme", "tag": "acme", "supported_parameters": ["tools", "tool_choice"]}
    ]
    try:
        llm = make(emu, BOTH, models=[TOOLS_ONLY])
        with pytest.raises(NoEndpointsForParametersError):
            llm.with_structured_output(Answer, method="json_schema").invoke("hi")
        result = llm.with_structured_output(Answer).invoke("Answer 'no' with confidence 0.1.")
        assert isinstance(result, Answer)  # forced tools: the main model's endpoint serves
    finally:
        del emu.endpoints[BOTH]


# --------------------------------------------------------------------------------------------
# the 404 recovery

DATA_POLICY_404 = (
    "No endpoints found matching your data policy (Free model publication). Configure: "
    "https://openrouter.ai/settings/privacy"
)


def test_recovery_fires_on_the_parameters_404(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    emu.enqueue(Reply.no_endpoints())
    result = make(emu, BOTH).with_structured_output(Answer).invoke("Answer 'yes', 0.3.")
    assert isinstance(result, Answer)
    first, second = (r.json for r in emu.chat_requests())
    assert "response_format" in first and "tools" in second
    assert any("retrying once with a forced tool call" in r.getMessage() for r in caplog.records)


def test_recovery_does_not_fire_on_a_data_policy_404(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    emu.enqueue(Reply.error(404, DATA_POLICY_404))
    with pytest.raises(NoEndpointsError) as caught:
        make(emu, BOTH).with_structured_output(Answer).invoke("hi")
    assert not isinstance(caught.value, NoEndpointsForParametersError)
    assert "data policy" in str(caught.value)
    assert len(emu.chat_requests()) == 1  # no pointless tools retry
    assert not any("forced tool call" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------------------------
# Anthropic's manual thinking and forced tools


def test_manual_thinking_on_a_tools_only_claude_fails_at_build_time(
    emu: OpenRouterEmulator,
) -> None:
    llm = make(emu, TOOLS_ONLY, reasoning_max_tokens=2048)
    with pytest.raises(StructuredOutputUnsupportedError) as caught:
        llm.with_structured_output(Answer)
    message = str(caught.value)
    assert "reasoning_max_tokens=2048" in message and "forced tool call" in message
    assert emu.chat_requests() == []


def test_an_effort_on_a_claude_before_4_6_is_manual_thinking_too(emu: OpenRouterEmulator) -> None:
    with pytest.raises(StructuredOutputUnsupportedError, match="reasoning_effort='high'"):
        make(emu, "anthropic/claude-3.7-sonnet", reasoning_effort="high").with_structured_output(
            Answer
        )
    assert emu.chat_requests() == []


def test_manual_thinking_picks_json_schema_where_the_model_lists_it(
    emu: OpenRouterEmulator,
) -> None:
    llm = make(
        emu,
        "anthropic/claude-sonnet-4.5",
        reasoning_max_tokens=2048,
        structured_output_strategy="prefer_tools",
    )
    llm.with_structured_output(Answer).invoke("Answer 'yes' with confidence 0.7.")
    body = emu.chat_requests()[-1].json
    assert body["response_format"]["type"] == "json_schema" and "tools" not in body
    assert body["reasoning"] == {"max_tokens": 2048}


def test_adaptive_thinking_keeps_forced_tools(emu: OpenRouterEmulator) -> None:
    llm = make(
        emu,
        "anthropic/claude-opus-4.6",
        reasoning_effort="high",
        structured_output_strategy="prefer_tools",
    )
    llm.with_structured_output(Answer).invoke("Answer 'yes' with confidence 0.7.")
    assert "tools" in emu.chat_requests()[-1].json


def test_forced_method_and_forced_tool_choice_with_thinking_are_refused(
    emu: OpenRouterEmulator,
) -> None:
    llm = make(emu, "anthropic/claude-sonnet-4.5", reasoning_max_tokens=2048)
    with pytest.raises(StructuredOutputUnsupportedError, match="manual thinking"):
        llm.with_structured_output(Answer, method="function_calling")
    bound = llm.bind_tools([get_weather], tool_choice="get_weather")
    with pytest.raises(ValueError, match="Anthropic refuses a forced tool call"):
        bound.invoke("weather?")
    with pytest.raises(ValueError, match="Anthropic refuses a forced tool call"):
        make(emu, "anthropic/claude-sonnet-4.5").bind_tools(
            [get_weather], tool_choice="required"
        ).invoke("weather?", reasoning_max_tokens=1024)
    assert emu.chat_requests() == []
    llm.bind_tools([get_weather]).invoke("What is the weather in Oslo?")  # auto is fine
    assert emu.chat_requests()[-1].json["reasoning"] == {"max_tokens": 2048}


# --------------------------------------------------------------------------------------------
# dict[str, X] in strict mode


class Scores(BaseModel):
    """Scores per name."""

    title: str
    scores: dict[str, float]


def test_a_dict_field_is_refused_in_strict_mode_naming_the_field(emu: OpenRouterEmulator) -> None:
    for method in (None, "json_schema", "function_calling"):
        with pytest.raises(ValueError) as caught:
            make(emu, BOTH).with_structured_output(Scores, method=method)
        message = str(caught.value)
        assert "'scores'" in message and "strict=False" in message
    assert emu.chat_requests() == []


def test_strict_false_keeps_the_value_schema(emu: OpenRouterEmulator) -> None:
    result = make(emu, BOTH).with_structured_output(Scores, strict=False).invoke("Score 'a'.")
    assert isinstance(result, Scores)
    spec = emu.chat_requests()[-1].json["response_format"]["json_schema"]
    assert spec["strict"] is False
    assert spec["schema"]["properties"]["scores"]["additionalProperties"] == {"type": "number"}
