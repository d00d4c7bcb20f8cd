"""The emulator's require_parameters check (pure), and the thinking rule it guards against."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_openrouter_fenic.routing import manual_thinking
from tests.support.emulator_routing import (
    REQUIRED_PARAMETERS_MESSAGE,
    candidate_endpoints,
    first_servable_model,
    request_parameters,
    route,
    unsupported_parameters,
)

STRICT = {"provider": {"require_parameters": True}}
ENDPOINTS = {
    "a/both": [
        {"provider_name": "One", "tag": "one", "supported_parameters": ["tools", "max_tokens"]},
        {"provider_name": "Two Labs", "tag": "two-labs/fp8",
         "supported_parameters": ["structured_outputs", "response_format",
                                  "max_completion_tokens"]},
    ],
    "b/tools": [{"provider_name": "Three", "tag": "three", "supported_parameters": ["tools"]}],
}  # fmt: skip


def _endpoints_of(model_id: str) -> list[dict[str, Any]] | None:
    return ENDPOINTS.get(model_id)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"temperature": 0, "stop": None}, {"temperature": ("temperature",)}),
        ({"max_tokens": 5}, {"max_tokens": ("max_tokens", "max_completion_tokens")}),
        ({"reasoning": {"effort": "low"}}, {"reasoning": ("reasoning", "include_reasoning")}),
        (
            {"response_format": {"type": "json_schema"}},
            {
                "structured_outputs": ("structured_outputs",),
                "response_format": ("response_format", "structured_outputs"),
            },
        ),
        ({"messages": [], "model": "x", "provider": {}, "models": ["y"]}, {}),
    ],
)
def test_request_parameters(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert request_parameters(body) == expected


def test_unsupported_parameters_per_endpoint() -> None:
    body = {"tools": [], "parallel_tool_calls": False, "max_tokens": 9}
    assert unsupported_parameters(body, ["tools", "max_completion_tokens"]) == [
        "parallel_tool_calls"
    ]


def test_some_endpoint_must_handle_every_parameter() -> None:
    # tools on endpoint One, json_schema on endpoint Two: no single endpoint has both
    body = {**STRICT, "tools": [], "response_format": {"type": "json_schema"}}
    assert first_servable_model(body, ["a/both"], _endpoints_of) is None
    assert first_servable_model({**STRICT, "tools": []}, ["a/both"], _endpoints_of) == "a/both"
    assert first_servable_model({"tools": [], "seed": 1}, ["a/both"], _endpoints_of) == "a/both"


def test_fallback_models_are_tried_in_order() -> None:
    body = {**STRICT, "tools": [], "max_tokens": 3}
    assert first_servable_model(body, ["x/unknown", "b/tools", "a/both"], _endpoints_of) == "a/both"
    assert first_servable_model({**STRICT, "tools": []}, ["b/tools", "a/both"], _endpoints_of) == (
        "b/tools"
    )


def test_only_and_ignore_pick_the_candidates() -> None:
    only_two = {"provider": {"only": ["Two Labs"]}}
    assert [e["tag"] for e in candidate_endpoints(only_two, ENDPOINTS["a/both"])] == [
        "two-labs/fp8"
    ]
    ignore_one = {"provider": {"ignore": ["one"]}}
    assert [e["tag"] for e in candidate_endpoints(ignore_one, ENDPOINTS["a/both"])] == [
        "two-labs/fp8"
    ]
    body = {"provider": {"require_parameters": True, "only": ["two-labs"]}, "tools": []}
    assert first_servable_model(body, ["a/both"], _endpoints_of) is None
    unknown = {"provider": {"only": ["Nobody"]}}
    assert candidate_endpoints(unknown, ENDPOINTS["a/both"]) == []


def test_routing_that_leaves_no_provider_is_the_real_404() -> None:
    served, message = route({"provider": {"only": ["Nobody"]}}, ["a/both"], _endpoints_of)
    assert served is None
    assert message == (
        "No allowed providers are available for the selected model. Providers serving a/both: "
        "one, two-labs/fp8, but your request's provider.only preference permits only: Nobody."
    )
    ignore_all = {"provider": {"ignore": ["one", "Two Labs"]}}
    assert route(ignore_all, ["a/both"], _endpoints_of)[1].startswith(
        "No allowed providers are available"
    )
    # a fallback the routing allows serves
    assert route({"provider": {"only": ["three"]}}, ["a/both", "b/tools"], _endpoints_of) == (
        "b/tools",
        "",
    )
    # allowed somewhere but no endpoint handles the parameters: the parameters 404
    strict = {"provider": {"require_parameters": True, "only": ["one"]}, "response_format": {
        "type": "json_schema"}}  # fmt: skip
    assert route(strict, ["a/both"], _endpoints_of) == (None, REQUIRED_PARAMETERS_MESSAGE)


@pytest.mark.parametrize(
    ("model", "effort", "budget", "manual"),
    [
        ("anthropic/claude-sonnet-4", None, 2048, True),
        ("anthropic/claude-sonnet-4", "high", None, True),
        ("anthropic/claude-3.7-sonnet:thinking", "low", None, True),
        ("anthropic/claude-sonnet-4.6", "high", None, False),
        ("anthropic/claude-opus-4.7", "max", None, False),
        ("anthropic/claude-opus-5", "high", None, False),
        ("anthropic/claude-opus-4.6", None, 1024, True),
        ("anthropic/claude-sonnet-4", "none", None, False),
        ("~anthropic/claude-sonnet-latest", "high", None, False),
        ("openai/o3", None, 2048, False),
        ("anthropic/claude-sonnet-4", None, None, False),
    ],
)
def test_manual_thinking(model: str, effort: str | None, budget: int | None, manual: bool) -> None:
    assert (manual_thinking(model, effort, budget) is not None) is manual
