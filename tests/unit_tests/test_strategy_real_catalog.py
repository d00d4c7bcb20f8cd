"""The structured-output strategy over the REAL catalog (371 models), and the endpoint-aware choice.

The expected method is computed here straight from each raw entry's ``supported_parameters``,
following SPEC §4's table, independently of the package's code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from langchain_openrouter_fenic import (
    ChatOpenRouter,
    EndpointInfo,
    ModelInfo,
    NoAllowedProvidersError,
    ProviderPreferences,
    StructuredOutputUnsupportedError,
)
from langchain_openrouter_fenic.structured_output import (
    allowed_endpoints,
    choose_strategy,
    decide_strategy,
    needs_endpoint_check,
    routing_restrictions,
)

SNAPSHOT = (
    Path(__file__).resolve().parents[2] / "langchain_openrouter_fenic/data/catalog-snapshot.json"
)
RAW_MODELS: list[dict[str, Any]] = json.loads(SNAPSHOT.read_text("utf-8"))["data"]
PREFERENCES = [None, "prefer_response_format", "prefer_tools"]


def spec_rule(raw: dict[str, Any], preference: str | None) -> str | None:
    """SPEC §4's table, on the raw catalog entry (None: StructuredOutputUnsupportedError)."""
    params = set(raw.get("supported_parameters") or [])
    structured = "structured_outputs" in params
    tools = {"tools", "tool_choice"} <= params
    if structured and tools and preference == "prefer_tools":
        return "function_calling"
    if structured:
        return "json_schema"
    if tools:
        return "function_calling"
    return None


NEITHER = [m["id"] for m in RAW_MODELS if spec_rule(m, None) is None]


def test_the_snapshot_is_the_full_real_catalog() -> None:
    assert len(RAW_MODELS) == 371
    assert len(NEITHER) == 69  # 52 list no response_format either, 17 do


@pytest.mark.parametrize("preference", PREFERENCES, ids=["auto", "prefer_rf", "prefer_tools"])
@pytest.mark.parametrize("raw", RAW_MODELS, ids=[m["id"] for m in RAW_MODELS])
def test_model_level_strategy_matches_spec(raw: dict[str, Any], preference: Any) -> None:
    info = ModelInfo.from_api(raw)
    expected = spec_rule(raw, preference)
    if expected is None:
        with pytest.raises(StructuredOutputUnsupportedError) as caught:
            choose_strategy(info, preference=preference)
        message = str(caught.value)
        assert info.id in message
        assert "Choose another model" in message
        if "response_format" in info.supported_parameters:
            assert 'method="json_mode"' in message
        else:
            assert "json_mode is not available" in message
    else:
        decision = choose_strategy(info, preference=preference)
        assert decision.method == expected
        assert decision.source == "model"
        assert decision.tools_possible == ({"tools", "tool_choice"} <= info.supported_parameters)


# --------------------------------------------------------------------------------------------
# fail fast against a live ChatOpenRouter: zero chat requests


class Answer(BaseModel):
    answer: str


@pytest.fixture(scope="module")
def emulator_module() -> Iterator[Any]:
    from tests.support.emulator import OpenRouterEmulator

    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("model_id", NEITHER)
def test_unsupported_model_fails_fast_without_any_chat_request(
    model_id: str, emulator_module: Any
) -> None:
    llm = ChatOpenRouter(model=model_id, api_key="sk-test", base_url=emulator_module.url)
    with pytest.raises(StructuredOutputUnsupportedError, match=model_id.replace(".", r"\.")):
        llm.with_structured_output(Answer)
    assert emulator_module.chat_requests() == []
    assert emulator_module.count("/endpoints") == 0  # nothing to learn there: no extra call


# --------------------------------------------------------------------------------------------
# endpoint-aware choice on real entries, with per-provider endpoint records

GPT_4O_MINI = next(m for m in RAW_MODELS if m["id"] == "openai/gpt-4o-mini")
TOOLS_ONLY_PARAMS = ["max_tokens", "tools", "tool_choice", "temperature"]
BOTH_PARAMS = [*TOOLS_ONLY_PARAMS, "structured_outputs", "response_format"]


def endpoint(provider: str, params: list[str], **kw: Any) -> EndpointInfo:
    tag = kw.pop("tag", provider.lower().replace(" ", "-"))
    raw = {"provider_name": provider, "tag": tag, "supported_parameters": params, **kw}
    return EndpointInfo.from_api(raw)


# one provider of five supports structured_outputs: fenic's troubleshooting case
FIVE = [
    endpoint("OpenAI", BOTH_PARAMS, pricing={"prompt": "0.00000015", "completion": "0.0000006"}),
    endpoint("DeepInfra", TOOLS_ONLY_PARAMS, tag="deepinfra/fp8", quantization="fp8",
             pricing={"prompt": "0.0000001", "completion": "0.0000004"}),
    endpoint("Together", TOOLS_ONLY_PARAMS, quantization="bf16",
             pricing={"prompt": "0.0000003", "completion": "0.0000009"}),
    endpoint("Novita", TOOLS_ONLY_PARAMS, quantization="fp8",
             pricing={"prompt": "0.00000012", "completion": "0.0000005"}),
    endpoint("Google Vertex", ["max_tokens"], tag="google-vertex/us-east5",
             pricing={"prompt": "0.00000015", "completion": "0.0000006"}),
]  # fmt: skip


def info_of(raw: dict[str, Any]) -> ModelInfo:
    return ModelInfo.from_api(raw)


def test_minority_structured_outputs_under_auto_picks_the_wider_forced_tools() -> None:
    decision = choose_strategy(info_of(GPT_4O_MINI), endpoints=FIVE)
    assert decision.method == "function_calling"
    assert decision.source == "endpoints"
    assert decision.structured_outputs_providers == ("openai",)
    assert decision.tools_providers == ("openai", "deepinfra/fp8", "together", "novita")
    assert "1/5 allowed providers support structured_outputs, 4/5 tools" in decision.reason


def test_explicit_preference_wins_when_both_work() -> None:
    decision = choose_strategy(
        info_of(GPT_4O_MINI), preference="prefer_response_format", endpoints=FIVE
    )
    assert decision.method == "json_schema"
    assert decision.tools_possible


def test_tie_goes_to_json_schema() -> None:
    both = [endpoint("OpenAI", BOTH_PARAMS), endpoint("Azure", BOTH_PARAMS)]
    assert choose_strategy(info_of(GPT_4O_MINI), endpoints=both).method == "json_schema"


@pytest.mark.parametrize(
    ("prefs", "expected", "providers"),
    [
        (ProviderPreferences(only=["openai"]), "json_schema", ("openai",)),
        (ProviderPreferences(only=["OpenAI", "Together"]), "function_calling", None),
        (ProviderPreferences(exclude=["openai"]), "function_calling", None),
        (ProviderPreferences(only=["google-vertex"]), None, None),
        (ProviderPreferences(exclude=["DeepInfra", "together", "novita"]), "json_schema", None),
    ],
    ids=["only-openai", "only-openai-together", "exclude-openai", "only-vertex", "exclude-3"],
)
def test_endpoint_aware_choice_under_only_and_exclude(
    prefs: ProviderPreferences, expected: str | None, providers: tuple[str, ...] | None
) -> None:
    info = info_of(GPT_4O_MINI)
    allowed = allowed_endpoints(FIVE, prefs)
    if expected is None:
        with pytest.raises(StructuredOutputUnsupportedError, match="google-vertex/us-east5"):
            choose_strategy(info, endpoints=allowed)
        return
    decision = choose_strategy(info, endpoints=allowed)
    assert decision.method == expected
    if providers is not None:
        assert decision.endpoints_considered == providers


def test_routing_that_matches_no_endpoint_falls_back_to_the_model_rule() -> None:
    info = info_of(GPT_4O_MINI)
    allowed = allowed_endpoints(FIVE, ProviderPreferences(only=["nobody"]))
    decision = choose_strategy(info, endpoints=allowed)
    assert allowed == []
    assert (decision.method, decision.source) == ("json_schema", "model")
    assert "matched none" in decision.reason


@pytest.mark.parametrize(
    ("prefs", "kept"),
    [
        (None, ["OpenAI", "DeepInfra", "Together", "Novita", "Google Vertex"]),
        (ProviderPreferences(only=["deepinfra"]), ["DeepInfra"]),  # base slug of deepinfra/fp8
        (ProviderPreferences(only=["deepinfra/fp8"]), ["DeepInfra"]),  # full tag
        (ProviderPreferences(only=["deepinfra/turbo"]), []),  # another variant
        (ProviderPreferences(only=["Google Vertex"]), ["Google Vertex"]),  # display name
        (ProviderPreferences(exclude=["OPENAI", "google-vertex"]),
         ["DeepInfra", "Together", "Novita"]),
        (ProviderPreferences(order=["together", "novita"]),  # fallbacks allowed: no restriction
         ["OpenAI", "DeepInfra", "Together", "Novita", "Google Vertex"]),
        (ProviderPreferences(order=["together", "novita"], allow_fallbacks=False),
         ["Together", "Novita"]),
        (ProviderPreferences(quantizations=["fp8"]), ["DeepInfra", "Novita"]),
        (ProviderPreferences(quantizations=["unknown"]), ["OpenAI", "Google Vertex"]),
        # price caps are USD per MILLION tokens; endpoint prices are per token
        (ProviderPreferences(max_prompt_price=0.15), ["OpenAI", "DeepInfra", "Novita",
                                                       "Google Vertex"]),
        (ProviderPreferences(max_prompt_price=0.12, max_completion_price=0.45), ["DeepInfra"]),
    ],
    ids=["none", "only-slug", "only-tag", "only-other-tag", "only-display-name", "exclude",
         "order-with-fallbacks", "order-without-fallbacks", "quant-fp8", "quant-unknown",
         "max-prompt", "max-both"],
)  # fmt: skip
def test_allowed_endpoints(prefs: ProviderPreferences | None, kept: list[str]) -> None:
    assert [e.provider_name for e in allowed_endpoints(FIVE, prefs)] == kept


def test_quantization_families_match_as_openrouter_matches_them() -> None:
    served = [endpoint(f"P{q}", BOTH_PARAMS, quantization=q)
              for q in ("fp8", "mxfp8", "fp4", "mxfp4", "nvfp4", "fp16")]  # fmt: skip

    def kept(*wanted: str) -> list[str | None]:
        prefs = ProviderPreferences(quantizations=list(wanted))  # type: ignore[arg-type]
        return [e.quantization for e in allowed_endpoints(served, prefs)]

    assert kept("fp8") == ["fp8", "mxfp8"]
    assert kept("fp4") == ["fp4", "mxfp4", "nvfp4"]
    assert kept("mxfp8") == ["mxfp8"]  # a specific format stays specific
    assert kept("nvfp4", "fp16") == ["nvfp4", "fp16"]


@pytest.mark.parametrize(
    ("caps", "kept"),
    [
        ({"request": 0.01}, ["cheap", "unpriced"]),
        ({"image": 0.002}, ["cheap", "unpriced"]),
        ({"audio": 0.00005}, ["cheap", "unpriced"]),
        ({"request": 0.05, "image": 0.01, "audio": 0.001}, ["cheap", "dear", "unpriced"]),
    ],
)
def test_every_max_price_unit_filters(caps: dict[str, float], kept: list[str]) -> None:
    """request / image / audio caps are per unit, compared with the endpoints' own prices."""
    priced = [
        endpoint("cheap", BOTH_PARAMS, pricing={"request": "0.001", "image": "0.001",
                                                "audio": "0.00001"}),
        endpoint("dear", BOTH_PARAMS, pricing={"request": "0.02", "image": "0.005",
                                               "audio": "0.0001"}),
        endpoint("unpriced", BOTH_PARAMS),
    ]  # fmt: skip
    prefs = ProviderPreferences(max_price=caps)  # type: ignore[arg-type]
    assert [e.provider_name for e in allowed_endpoints(priced, prefs)] == kept
    assert routing_restrictions(prefs)  # so the endpoint-aware strategy consults /endpoints


def test_decide_strategy_refuses_a_routing_that_leaves_no_endpoint() -> None:
    prefs = ProviderPreferences(only=["nobody"])
    with pytest.raises(NoAllowedProvidersError) as caught:
        decide_strategy(
            info_of(GPT_4O_MINI), provider=prefs, preference=None, load_endpoints=lambda _m: FIVE
        )
    message = str(caught.value)
    assert "only=['nobody']" in message and "OpenAI (openai)" in message
    assert "Google Vertex (google-vertex/us-east5)" in message


def test_decide_strategy_with_fallbacks_leaves_the_choice_to_the_model_rule() -> None:
    """The main model has no endpoint the routing allows: OpenRouter serves a fallback."""
    fallback = info_of({"id": "x/fallback", "supported_parameters": BOTH_PARAMS})
    decision = decide_strategy(
        info_of(GPT_4O_MINI),
        provider=ProviderPreferences(only=["nobody"]),
        preference=None,
        load_endpoints=lambda _m: FIVE,
        fallbacks=[fallback],
    )
    assert (decision.method, decision.source) == ("json_schema", "model")
    assert "the fallbacks serve" in decision.reason
    assert any("go straight to the fallback" in w for w in decision.routing_warnings)


def test_price_cap_keeps_endpoints_without_a_price() -> None:
    unpriced = endpoint("Mystery", BOTH_PARAMS)
    assert allowed_endpoints([unpriced], ProviderPreferences(max_prompt_price=0.01)) == [unpriced]


def raw_with(params: list[str]) -> dict[str, Any]:
    return {"id": "x/model", "supported_parameters": params}


@pytest.mark.parametrize(
    ("params", "prefs", "preference", "expected"),
    [
        (BOTH_PARAMS, None, None, True),  # both listed, auto: coverage decides
        (BOTH_PARAMS, None, "prefer_tools", False),  # explicit: the union guarantees it
        (BOTH_PARAMS, None, "prefer_response_format", False),
        (TOOLS_ONLY_PARAMS, None, None, False),  # one capability: cannot change
        (["structured_outputs"], None, None, False),
        (["max_tokens"], ProviderPreferences(only=["a"]), None, False),  # neither: error anyway
        (TOOLS_ONLY_PARAMS, ProviderPreferences(only=["a"]), None, True),  # restricted routing
        (BOTH_PARAMS, ProviderPreferences(max_prompt_price=1), "prefer_tools", True),
        (BOTH_PARAMS, ProviderPreferences(sort="price"), "prefer_tools", False),  # not a filter
        (BOTH_PARAMS, ProviderPreferences(data_collection="deny"), "prefer_tools", False),
    ],
)
def test_needs_endpoint_check(
    params: list[str], prefs: ProviderPreferences | None, preference: Any, expected: bool
) -> None:
    assert needs_endpoint_check(info_of(raw_with(params)), prefs, preference) is expected


def test_routing_restrictions_labels() -> None:
    prefs = ProviderPreferences(only=["a"], exclude=["b"], quantizations=["fp8"],
                                max_completion_price=2.0)  # fmt: skip
    assert routing_restrictions(prefs) == [
        "only=['a']", "exclude=['b']", "quantizations=['fp8']", "max_completion_price=2.0"
    ]  # fmt: skip
    assert routing_restrictions(ProviderPreferences(sort="price")) == []


def test_decide_strategy_falls_back_to_the_model_rule_when_endpoints_fail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_model_id: str) -> list[EndpointInfo]:
        raise ConnectionError("connection refused")

    with caplog.at_level(logging.INFO, logger="langchain_openrouter_fenic"):
        decision = decide_strategy(
            info_of(GPT_4O_MINI), provider=None, preference=None, load_endpoints=broken
        )
    assert decision.method == "json_schema"
    assert "endpoints unavailable" in decision.reason
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "connection refused" in warnings[0].getMessage()
    assert any("Structured output for openai/gpt-4o-mini" in r.getMessage() for r in caplog.records)


def test_decide_strategy_skips_the_call_when_it_cannot_change_the_answer() -> None:
    calls: list[str] = []

    def loader(model_id: str) -> list[EndpointInfo]:
        calls.append(model_id)
        return FIVE

    tools_only = info_of(raw_with(TOOLS_ONLY_PARAMS))
    decision = decide_strategy(tools_only, provider=None, preference=None, load_endpoints=loader)
    assert decision.method == "function_calling"
    assert calls == []
    decide_strategy(info_of(GPT_4O_MINI), provider=None, preference=None, load_endpoints=loader)
    assert calls == ["openai/gpt-4o-mini"]
