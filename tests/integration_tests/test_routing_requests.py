"""Issue 3 at the chat-model level: routing profiles, catalog checks and cost through
``ChatOpenRouter`` against the loopback emulator (the HTTP boundary; no mocks).

The emulator serves the real 371-model snapshot shipped in the package, so every capability,
price and limit asserted here is what OpenRouter's catalog says about that model.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel, ValidationError

import langchain_openrouter_fenic
from langchain_openrouter_fenic import ChatOpenRouter
from langchain_openrouter_fenic.catalog import ModelCatalog
from langchain_openrouter_fenic.catalog.disk_cache import (
    CACHE_DIR_ENV,
    cache_file,
    read_catalog,
    write_catalog,
)
from langchain_openrouter_fenic.errors import ModelNotFoundError
from langchain_openrouter_fenic.routing import Profile, ProviderPreferences
from tests.support.emulator import OpenRouterEmulator, Reply, running_emulator

KEY = "sk-or-v1-routing-test-0123456789"
SONNET = "anthropic/claude-sonnet-4"
SNAPSHOT = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    return json.loads(SNAPSHOT.read_text())["data"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def by_id(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["id"]: e for e in entries}


def make(emulator: OpenRouterEmulator, model: str = SONNET, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"model": model, "api_key": KEY, "base_url": emulator.url, **kw}
    return ChatOpenRouter(**options)


def last_body(emulator: OpenRouterEmulator) -> dict[str, Any]:
    body = emulator.chat_requests()[-1].json
    assert isinstance(body, dict)
    return body


# --------------------------------------------------------------------------------------------
# the exact request body

PREFS: dict[str, Any] = {
    "sort": "price",
    "only": ["anthropic", "google-vertex"],
    "exclude": ["deepinfra"],
    "order": ["google-vertex", "anthropic"],
    "quantizations": ["fp8", "bf16"],
    "data_collection": "deny",
    "max_prompt_price": 5.0,
    "max_completion_price": 20.0,
    "allow_fallbacks": False,
    "require_parameters": True,
    "zdr": True,
}
FALLBACKS = ["openai/gpt-4o", "google/gemini-2.5-pro"]
ROUTED_BODY: dict[str, Any] = {
    "model": SONNET,
    "messages": [{"role": "user", "content": "route me"}],
    "temperature": 0.0,
    "models": FALLBACKS,
    "reasoning": {"effort": "high"},
    "provider": {
        "sort": "price",
        "only": ["anthropic", "google-vertex"],
        "order": ["google-vertex", "anthropic"],
        "quantizations": ["fp8", "bf16"],
        "data_collection": "deny",
        "ignore": ["deepinfra"],
        "max_price": {"prompt": 5.0, "completion": 20.0},
        "allow_fallbacks": False,
        "require_parameters": True,
        "zdr": True,
    },
}


@pytest.fixture
def routable(emulator: OpenRouterEmulator, by_id: dict[str, dict[str, Any]]) -> None:
    """Endpoints of SONNET that PREFS leaves one of. The client checks the routing against
    /endpoints before sending (a routing that leaves none raises), and the generated ones serve
    Claude unquantized, which ``quantizations=["fp8", "bf16"]`` would rule out."""
    listed = by_id[SONNET]["supported_parameters"]
    price = {"prompt": "0.000003", "completion": "0.000015"}
    emulator.endpoints[SONNET] = [
        {"provider_name": name, "tag": tag, "quantization": quantization, "pricing": price,
         "supported_parameters": listed}
        for name, tag, quantization in (("Anthropic", "anthropic", "bf16"),
                                        ("Google", "google-vertex", "fp8"))
    ]  # fmt: skip


def _flat_typed(emulator: OpenRouterEmulator) -> ChatOpenRouter:
    return make(
        emulator,
        temperature=0.0,
        models=FALLBACKS,
        reasoning_effort="high",
        provider=ProviderPreferences(**PREFS),
    )


def _flat_dict(emulator: OpenRouterEmulator) -> ChatOpenRouter:
    return make(
        emulator, temperature=0.0, models=FALLBACKS, reasoning_effort="high", provider=PREFS
    )


def _default_profile_dict(emulator: OpenRouterEmulator) -> ChatOpenRouter:
    routed = {"models": FALLBACKS, "reasoning_effort": "high", "provider": PREFS}
    return make(emulator, temperature=0.0, profiles={"routed": routed}, default_profile="routed")


def _with_profile_typed(emulator: OpenRouterEmulator) -> ChatOpenRouter:
    routed = Profile(
        models=tuple(FALLBACKS),
        reasoning_effort="high",
        provider=ProviderPreferences(**PREFS),
    )
    return make(emulator, temperature=0.0, profiles={"routed": routed}).with_profile("routed")


@pytest.mark.parametrize(
    "build", [_flat_typed, _flat_dict, _default_profile_dict, _with_profile_typed]
)
@pytest.mark.usefixtures("routable")
def test_every_routing_field_reaches_the_wire_exactly(
    emulator: OpenRouterEmulator, build: Any
) -> None:
    build(emulator).invoke("route me")
    assert last_body(emulator) == ROUTED_BODY


@pytest.mark.usefixtures("routable")
async def test_every_routing_field_reaches_the_wire_exactly_async_stream(
    emulator: OpenRouterEmulator,
) -> None:
    chunks = [c async for c in _flat_dict(emulator).astream("route me")]
    assert chunks
    assert last_body(emulator) == {**ROUTED_BODY, "stream": True}


@pytest.mark.parametrize(
    ("setting", "wire"),
    [
        ({"reasoning_effort": "low"}, {"effort": "low"}),
        ({"reasoning_effort": "none"}, {"effort": "none"}),
        ({"reasoning_max_tokens": 2048}, {"max_tokens": 2048}),
    ],
)
def test_reasoning_wire_forms(
    emulator: OpenRouterEmulator, setting: dict[str, Any], wire: dict[str, Any]
) -> None:
    make(emulator, **setting).invoke("think")
    body = last_body(emulator)
    assert body["reasoning"] == wire
    assert "reasoning_effort" not in body and "reasoning_max_tokens" not in body


def test_fallback_models_are_sent_in_order(emulator: OpenRouterEmulator) -> None:
    make(emulator, models=["openai/gpt-4o-mini", "openai/gpt-4o"]).invoke("hi")
    body = last_body(emulator)
    assert body["model"] == SONNET
    assert body["models"] == ["openai/gpt-4o-mini", "openai/gpt-4o"]


def test_unset_routing_sends_no_routing_keys(emulator: OpenRouterEmulator) -> None:
    make(emulator).invoke("plain")
    assert set(last_body(emulator)) == {"model", "messages"}


# --------------------------------------------------------------------------------------------
# profiles: per call, default, with tools

PROFILES: dict[str, Any] = {
    # Claude Sonnet 4 costs 3 USD per million prompt tokens: a cap below would leave no endpoint
    "cheap": {"provider": {"sort": "price", "max_prompt_price": 4}},
    "deep": {"reasoning_max_tokens": 4000, "models": ["openai/gpt-4o"]},
}


def test_with_profile_changes_only_the_copy(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator, profiles=PROFILES)
    llm.invoke("a")
    cheap = llm.with_profile("cheap")
    cheap.invoke("b")
    llm.with_profile("deep").invoke("c")
    llm.invoke("d")
    bodies = [r.json for r in emulator.chat_requests()]
    assert "provider" not in bodies[0] and "reasoning" not in bodies[0]
    assert bodies[1]["provider"] == {"sort": "price", "max_price": {"prompt": 4.0}}
    assert "reasoning" not in bodies[1] and "models" not in bodies[1]
    assert bodies[2]["reasoning"] == {"max_tokens": 4000}
    assert bodies[2]["models"] == ["openai/gpt-4o"] and "provider" not in bodies[2]
    assert set(bodies[3]) == {"model", "messages"}  # the original is unchanged
    assert llm.default_profile is None and cheap.default_profile == "cheap"
    assert llm.active_profile == Profile() and cheap.active_profile == Profile(**PROFILES["cheap"])


def test_default_profile_is_used_and_with_profile_overrides_it(
    emulator: OpenRouterEmulator,
) -> None:
    llm = make(emulator, profiles=PROFILES, default_profile="deep")
    llm.invoke("a")
    llm.with_profile("cheap").invoke("b")
    first, second = (r.json for r in emulator.chat_requests())
    assert first["reasoning"] == {"max_tokens": 4000} and "provider" not in first
    assert second["provider"]["sort"] == "price" and "reasoning" not in second


class GetWeather(BaseModel):
    """Weather of a city."""

    city: str


def test_bind_tools_on_a_profile_copy_keeps_the_routing(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.tool_call("GetWeather", {"city": "Oslo"}))
    bound = (
        make(emulator, profiles=PROFILES)
        .with_profile("cheap")
        .bind_tools([GetWeather], tool_choice="GetWeather")
    )
    msg = bound.invoke("weather in Oslo?")
    assert msg.tool_calls[0]["args"] == {"city": "Oslo"}
    body = last_body(emulator)
    assert body["provider"] == {"sort": "price", "max_price": {"prompt": 4.0}}
    assert [t["function"]["name"] for t in body["tools"]] == ["GetWeather"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "GetWeather"}}


# --------------------------------------------------------------------------------------------
# parameters the model does not list


def test_unsupported_sampling_parameters_are_dropped_with_a_debug_log(
    emulator: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="langchain_openrouter_fenic")
    # openai/o1 lists seed and max_tokens, but neither temperature nor top_p
    make(emulator, "openai/o1", temperature=0.2, top_p=0.9, seed=7, max_tokens=50).invoke("hi")
    body = last_body(emulator)
    assert "temperature" not in body and "top_p" not in body
    assert body["seed"] == 7 and body["max_tokens"] == 50
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(
        "openai/o1" in m and "temperature" in m and "top_p" in m and "not sent" in m for m in logged
    ), logged


def test_per_call_unsupported_parameter_is_dropped_too(emulator: OpenRouterEmulator) -> None:
    make(emulator, "openai/o1").invoke("hi", temperature=0.5)
    assert "temperature" not in last_body(emulator)


def test_temperature_zero_is_sent_where_supported(emulator: OpenRouterEmulator) -> None:
    make(emulator, "openai/gpt-4o", temperature=0.0).invoke("hi")
    body = last_body(emulator)
    assert "temperature" in body and body["temperature"] == 0.0


# --------------------------------------------------------------------------------------------
# validation before any request


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"reasoning_effort": "high", "reasoning_max_tokens": 100},
            ["reasoning_effort", "reasoning_max_tokens", "mutually exclusive"],
        ),
        (
            {"profiles": {"p": {"reasoning_effort": "low", "reasoning_max_tokens": 100}}},
            ["reasoning_effort", "reasoning_max_tokens", "mutually exclusive"],
        ),
        ({"reasoning_effort": "extreme"}, ["reasoning_effort", "'minimal'", "'xhigh'"]),
        ({"provider": {"max_prompt_price": -1}}, ["max_prompt_price", "greater than or equal"]),
        ({"provider": {"max_completion_price": -0.5}}, ["max_completion_price"]),
        ({"provider": {"sort": "cheapest"}}, ["sort", "'price'", "'throughput'", "'latency'"]),
        ({"provider": {"data_collection": "never"}}, ["data_collection", "'allow'", "'deny'"]),
        ({"provider": {"quantizations": ["fp9"]}}, ["quantizations", "'fp8'", "'bf16'"]),
        ({"provider": {"ignore": ["deepinfra"]}}, ["'ignore'", "Did you mean exclude"]),
        ({"provider": {"sortt": "price"}}, ["'sortt'", "Did you mean sort"]),
        ({"profiles": {"p": {"fallback_models": ["x/y"]}}}, ["'fallback_models'", "models"]),
        ({"profiles": {"p": {}}, "default_profile": "q"}, ["default_profile='q'", "p"]),
        ({"provider": {"only": ["a"], "exclude": ["A"]}}, ["only and exclude", "'a'"]),
    ],
)
def test_bad_routing_is_refused_at_construction(
    emulator: OpenRouterEmulator, kwargs: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        make(emulator, **kwargs)
    message = str(caught.value)
    for part in expected:
        assert part in message, (part, message)
    assert emulator.requests == []  # not even the catalog was asked


def test_unknown_profile_name_in_with_profile(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator, profiles=PROFILES)
    with pytest.raises(ValueError, match=r"Unknown profile 'cheapest'.*cheap, deep"):
        llm.with_profile("cheapest")
    with pytest.raises(ValueError, match="none defined"):
        make(emulator).with_profile("cheap")
    assert emulator.chat_requests() == []


# a reasoning entry as OpenRouter now publishes it (the `~google/gemini-pro-latest` shape in
# ../shared/openrouter-recordings/catalog-newer-fields-sample.json): efforts listed, mandatory
EFFORTS_ONLY = {
    "mandatory": True,
    "supported_efforts": ["high", "medium", "low"],
    "default_effort": "medium",
    "supports_max_tokens": False,
}


@pytest.fixture(scope="module")
def _effort_server(entries: list[dict[str, Any]]) -> Any:
    served = copy.deepcopy(entries)
    for entry in served:
        if entry["id"] == "google/gemini-2.5-pro":
            entry["reasoning"] = EFFORTS_ONLY
    with running_emulator(catalog=served) as emu:
        yield emu


@pytest.fixture
def effort_emulator(_effort_server: OpenRouterEmulator) -> OpenRouterEmulator:
    _effort_server.reset()  # one server for the module (it encodes the catalog once)
    return _effort_server


FIRST_USE_ERRORS = [
    ("openai/gpt-4o", {"reasoning_effort": "high"}, ValueError,
     ["reasoning_effort='high'", "'openai/gpt-4o'", "does not support reasoning"]),
    ("openai/gpt-4o", {"reasoning_max_tokens": 500}, ValueError,
     ["reasoning_max_tokens", "does not support reasoning"]),
    ("google/gemini-2.5-pro", {"reasoning_effort": "minimal"}, ValueError,
     ["reasoning_effort='minimal'", "allowed values: 'high', 'medium', 'low'"]),
    ("google/gemini-2.5-pro", {"reasoning_effort": "none"}, ValueError,
     ["always reasons", "'high', 'medium', 'low'"]),
    ("google/gemini-2.5-pro", {"reasoning_max_tokens": 500}, ValueError,
     ["takes a reasoning effort, not a token budget"]),
    (SONNET, {"models": ["openai/gpt-4o", "openai/gpt-4o-mni"]}, ModelNotFoundError,
     ["models[1]='openai/gpt-4o-mni'", "openai/gpt-4o-mini"]),
    (SONNET, {"profiles": {"x": {"models": ["nobody/nothing"]}}, "default_profile": "x"},
     ModelNotFoundError, ["profiles['x'].models[0]='nobody/nothing'"]),
    ("openai/gpt-4o-mni", {}, ModelNotFoundError,
     ["'openai/gpt-4o-mni' is not in OpenRouter's model catalog", "openai/gpt-4o-mini"]),
]  # fmt: skip


# every case through invoke; the async and streaming entry points with one case of each kind
FIRST_USE_CASES = [
    *(pytest.param("invoke", *case, id=f"invoke-{i}") for i, case in enumerate(FIRST_USE_ERRORS)),
    *(
        pytest.param(mode, *FIRST_USE_ERRORS[i], id=f"{mode}-{i}")
        for mode in ("ainvoke", "stream")
        for i in (0, 2, 5, 7)
    ),
]


@pytest.mark.parametrize(("mode", "model", "kwargs", "error", "expected"), FIRST_USE_CASES)
async def test_catalog_checks_fail_at_first_use_before_any_chat_request(
    effort_emulator: OpenRouterEmulator,
    mode: str,
    model: str,
    kwargs: dict[str, Any],
    error: type[Exception],
    expected: list[str],
) -> None:
    llm = make(effort_emulator, model, **kwargs)  # construction never needs the network
    assert effort_emulator.requests == []
    with pytest.raises(error) as caught:
        if mode == "invoke":
            llm.invoke("hi")
        elif mode == "ainvoke":
            await llm.ainvoke("hi")
        else:
            list(llm.stream("hi"))
    for part in expected:
        assert part in str(caught.value), (part, str(caught.value))
    assert effort_emulator.chat_requests() == []
    # an id the catalog lacks is refetched once (a model published since) before it is unknown
    assert effort_emulator.count("/models/user") == (2 if error is ModelNotFoundError else 1)


def test_unknown_model_lists_close_ids(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator, "anthropic/claude-sonet-4")
    with pytest.raises(ModelNotFoundError) as caught:
        llm.invoke("hi")
    suggestions = caught.value.suggestions
    assert 1 <= len(suggestions) <= 5 and SONNET in suggestions
    assert all(s in str(caught.value) for s in suggestions)
    assert emulator.chat_requests() == []


def test_a_profile_copy_is_checked_against_the_catalog_on_its_first_use(
    emulator: OpenRouterEmulator,
) -> None:
    llm = make(emulator, "openai/gpt-4o", profiles={"think": {"reasoning_effort": "high"}})
    llm.invoke("fine without reasoning")
    with pytest.raises(ValueError, match=r"profiles\['think'\]\.reasoning_effort='high'"):
        llm.with_profile("think").invoke("now with")
    assert len(emulator.chat_requests()) == 1


# --------------------------------------------------------------------------------------------
# one catalog request for many concurrent first uses

N = 50


def _slow_catalog(emulator: OpenRouterEmulator, entries: list[dict[str, Any]]) -> None:
    # the catalog answer takes a while, so all N first uses are waiting on it at once
    emulator.set_get_reply("/models/user", Reply.json(200, {"data": entries}).delayed(0.3))


def _assert_one_catalog_request(emulator: OpenRouterEmulator) -> None:
    assert emulator.count("/models/user") == 1
    assert emulator.count("/models") == 0
    assert len(emulator.chat_requests()) == N


def test_concurrent_first_uses_in_threads_make_one_catalog_request(
    emulator: OpenRouterEmulator, entries: list[dict[str, Any]]
) -> None:
    _slow_catalog(emulator, entries)

    def first_use(prompt: str) -> str:
        llm = make(emulator, temperature=0.0)
        return str(llm.invoke(prompt).content)

    answers = RunnableLambda(first_use).batch(
        [f"q{i}" for i in range(N)], config={"max_concurrency": N}
    )
    assert len(answers) == N and all(answers)
    _assert_one_catalog_request(emulator)
    assert all(r.json["temperature"] == 0.0 for r in emulator.chat_requests())  # catalog used


async def test_concurrent_first_uses_in_asyncio_make_one_catalog_request(
    emulator: OpenRouterEmulator, entries: list[dict[str, Any]]
) -> None:
    _slow_catalog(emulator, entries)

    async def first_use(prompt: str) -> str:
        llm = make(emulator, "openai/o1", temperature=0.3)
        return str((await llm.ainvoke(prompt)).content)

    answers = await RunnableLambda(first_use).abatch(
        [f"q{i}" for i in range(N)], config={"max_concurrency": N}
    )
    assert len(answers) == N and all(answers)
    _assert_one_catalog_request(emulator)
    # every request was filtered with the catalog: o1 does not list temperature
    assert not any("temperature" in r.json for r in emulator.chat_requests())


# --------------------------------------------------------------------------------------------
# stale-if-error


def _age_disk_copy(emulator: OpenRouterEmulator, seconds: float) -> None:
    path = cache_file(Path(os.environ[CACHE_DIR_ENV]), emulator.url, KEY)
    cached = read_catalog(path)
    assert cached is not None, f"the first use did not write {path}"
    write_catalog(
        path,
        cached.entries,
        fetched_at=time.time() - seconds,
        source=cached.source,
        base_url=emulator.url,
    )


def test_stale_disk_copy_serves_when_the_catalog_fails(
    emulator: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    make(emulator, "openai/o1").invoke("warm the cache")
    _age_disk_copy(emulator, 2 * 3600)  # older than the 1 h TTL
    ModelCatalog.clear_shared()  # as a new process would start
    emulator.reset()
    emulator.set_get_reply("/models/user", Reply.error(500, "Internal Server Error"))
    emulator.set_get_reply("/models", Reply.error(500, "Internal Server Error"))
    caplog.set_level(logging.WARNING)

    llm = make(emulator, "openai/o1", temperature=0.2, max_retries=0)  # no backoff to sit out
    msg = llm.invoke("still works")

    assert msg.content
    assert emulator.count("/models/user") == 1  # it did try to refresh
    assert "temperature" not in last_body(emulator)  # filtered with the stale catalog
    assert llm.model_info().id == "openai/o1"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "Could not refresh the OpenRouter model catalog" in w and "disk cache" in w and "2.0 h" in w
        for w in warnings
    ), warnings


def test_catalog_down_without_a_copy_still_sends_the_chat_with_a_warning(
    emulator: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.set_get_reply("/models/user", Reply.error(503, "Service Unavailable"))
    caplog.set_level(logging.WARNING)
    msg = make(emulator, "openai/o1", temperature=0.2, max_retries=0).invoke("hi")
    assert msg.content
    assert last_body(emulator)["temperature"] == 0.2  # no catalog: nothing filtered
    assert any("catalog unavailable" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------------------------
# llm.profile from the catalog


def _expected_profile(entry: dict[str, Any]) -> dict[str, Any]:
    """What the raw catalog entry says, read independently of the package's translation."""
    params = set(entry.get("supported_parameters") or [])
    inputs = set(entry["architecture"]["input_modalities"])
    return {
        "max_input_tokens": entry["context_length"],
        "max_output_tokens": entry["top_provider"]["max_completion_tokens"],
        "image_inputs": "image" in inputs,
        "pdf_inputs": "file" in inputs,
        "audio_inputs": "audio" in inputs,
        "tool_calling": "tools" in params,
        "tool_choice": "tool_choice" in params,
        "structured_output": "structured_outputs" in params,
        "reasoning_output": bool(params & {"reasoning", "include_reasoning"}),
        "temperature": "temperature" in params,
    }


PROFILE_MODELS: dict[str, dict[str, Any]] = {
    "openai/gpt-4o": {"max_input_tokens": 128000, "tool_calling": True, "reasoning_output": False},
    SONNET: {"max_output_tokens": 64000, "reasoning_output": True, "pdf_inputs": True},
    "google/gemma-3-27b-it:free": {"tool_calling": False, "image_inputs": True},
    "alpindale/goliath-120b": {"max_input_tokens": 6144, "tool_calling": False},
    "openai/o1": {"temperature": False, "structured_output": True},
}


@pytest.mark.parametrize("model", sorted(PROFILE_MODELS))
def test_profile_of_real_models_matches_the_catalog(
    emulator: OpenRouterEmulator, by_id: dict[str, dict[str, Any]], model: str
) -> None:
    llm = make(emulator, model)
    # nothing cached yet: the profile comes from the shipped snapshot, without a request
    assert emulator.requests == []
    expected = _expected_profile(by_id[model])
    assert expected.items() >= PROFILE_MODELS[model].items()  # the snapshot is what we think
    profile: dict[str, Any] = dict(llm.profile or {})
    assert {k: profile.get(k) for k in expected} == expected
    llm.invoke("hi")
    assert llm.profile == profile  # the same for the life of the instance
    # a second instance gets the same profile at construction, from the cached catalog
    again = make(emulator, model)
    assert again.profile == llm.profile
    assert emulator.count("/models/user") == 1


# --------------------------------------------------------------------------------------------
# cost


def _completion_without_cost(model: str) -> dict[str, Any]:
    return {
        "id": "gen-no-cost",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "provider": "Anthropic",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "native_finish_reason": "end_turn",
                "message": {"role": "assistant", "content": "ok"},
            }
        ],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "total_tokens": 1200,
            "prompt_tokens_details": {"cached_tokens": 400},
        },
    }


def _sonnet_cost(by_id: dict[str, dict[str, Any]]) -> float:
    pricing = by_id[SONNET]["pricing"]
    prompt, completion = float(pricing["prompt"]), float(pricing["completion"])
    cache_read = float(pricing["input_cache_read"])
    return 600 * prompt + 400 * cache_read + 200 * completion


def test_missing_cost_is_estimated_from_catalog_prices(
    emulator: OpenRouterEmulator, by_id: dict[str, dict[str, Any]]
) -> None:
    emulator.enqueue(Reply.json(200, _completion_without_cost(SONNET)))
    meta = make(emulator).invoke("hi").response_metadata
    assert meta["cost"] == pytest.approx(_sonnet_cost(by_id), rel=1e-9)
    assert meta["cost"] == pytest.approx(
        0.00492, rel=1e-9
    )  # 600 x 3e-6 + 400 x 3e-7 + 200 x 1.5e-5
    assert meta["cost_estimated"] is True


def test_missing_cost_in_a_stream_is_estimated_too(
    emulator: OpenRouterEmulator, by_id: dict[str, dict[str, Any]]
) -> None:
    doc = _completion_without_cost(SONNET)
    head = {k: doc[k] for k in ("id", "created", "model", "provider")}
    events = [
        {**head, "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"},
                      "finish_reason": None}]},
        {**head, "object": "chat.completion.chunk",
         "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**head, "object": "chat.completion.chunk", "choices": [], "usage": doc["usage"]},
    ]  # fmt: skip
    emulator.enqueue(Reply.sse(events))
    chunks = list(make(emulator).stream("hi"))
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert whole.content == "ok"
    assert whole.response_metadata["cost"] == pytest.approx(_sonnet_cost(by_id), rel=1e-9)
    assert whole.response_metadata["cost_estimated"] is True


def test_reported_cost_is_kept_and_not_marked_estimated(emulator: OpenRouterEmulator) -> None:
    emulator.enqueue(Reply.text("ok", usage={"cost": 0.0123}))
    meta = make(emulator).invoke("hi").response_metadata
    assert meta["cost"] == 0.0123
    assert "cost_estimated" not in meta
