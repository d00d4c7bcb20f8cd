"""Routing profiles: the exact wire mapping, every validation error, parameter filtering."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import langchain_openrouter_fenic
from langchain_openrouter_fenic.catalog import ModelCatalog, ModelInfo
from langchain_openrouter_fenic.errors import ModelNotFoundError
from langchain_openrouter_fenic.routing import (
    MaxPrice,
    Profile,
    ProviderPreferences,
    filter_supported_params,
    validate_profile,
)

SNAPSHOT = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"

# catalog entries with the newer `reasoning` object, trimmed from the real sample in
# ../shared/openrouter-recordings/catalog-newer-fields-sample.json (GET /api/v1/models)
OPUS_5 = {
    "id": "anthropic/claude-opus-5",
    "supported_parameters": ["include_reasoning", "max_completion_tokens", "max_tokens",
                             "reasoning", "reasoning_effort", "response_format", "stop",
                             "structured_outputs", "temperature", "tool_choice", "tools"],
    "reasoning": {"mandatory": False, "default_enabled": True,
                  "supported_efforts": ["max", "xhigh", "high", "medium", "low"],
                  "default_effort": "high"},
}  # fmt: skip
GEMINI_PRO_LATEST = {
    "id": "~google/gemini-pro-latest",
    "supported_parameters": ["include_reasoning", "max_tokens", "reasoning", "reasoning_effort",
                             "response_format", "seed", "stop", "structured_outputs",
                             "temperature", "tool_choice", "tools", "top_p"],
    "reasoning": {"mandatory": True, "supported_efforts": ["high", "medium", "low"],
                  "default_effort": "medium"},
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> ModelCatalog:
    from langchain_openrouter_fenic.catalog.disk_cache import CacheSettings

    entries = json.loads(SNAPSHOT.read_text())["data"]
    return ModelCatalog(
        "http://catalog.invalid/api/v1",
        None,
        fetch_json=lambda _path: {"data": entries},
        cache=CacheSettings(directory=None, ttl=0),
    )


# --------------------------------------------------------------------------------------------
# the wire mapping


def test_every_routing_field_maps_to_the_exact_request_body() -> None:
    profile = Profile(
        models=["anthropic/claude-sonnet-4", "openai/gpt-4o"],
        reasoning_effort="high",
        provider=ProviderPreferences(
            sort="throughput",
            only=["anthropic", "google-vertex/us-east5"],
            exclude=["DeepInfra"],
            order=["anthropic", "amazon-bedrock"],
            quantizations=["fp8", "bf16"],
            data_collection="deny",
            max_prompt_price=5.0,
            max_completion_price=10,
            allow_fallbacks=False,
            require_parameters=True,
            zdr=True,
        ),
        structured_output_strategy="prefer_tools",
    )
    body = profile.to_request_body(None)
    assert body == {
        "models": ["anthropic/claude-sonnet-4", "openai/gpt-4o"],
        "reasoning": {"effort": "high"},
        "provider": {
            "sort": "throughput",
            "only": ["anthropic", "google-vertex/us-east5"],
            "order": ["anthropic", "amazon-bedrock"],
            "quantizations": ["fp8", "bf16"],
            "data_collection": "deny",
            "ignore": ["DeepInfra"],
            "max_price": {"prompt": 5.0, "completion": 10.0},
            "allow_fallbacks": False,
            "require_parameters": True,
            "zdr": True,
        },
    }
    # exact JSON on the wire: numbers, not strings; no `exclude`, no strategy (local only)
    wire = json.dumps(body)
    assert '"max_price": {"prompt": 5.0, "completion": 10.0}' in wire
    assert "exclude" not in wire and "structured_output_strategy" not in wire


def test_reasoning_max_tokens_maps_to_reasoning_max_tokens() -> None:
    assert Profile(reasoning_max_tokens=2048).to_request_body() == {
        "reasoning": {"max_tokens": 2048}
    }


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        pytest.param(Profile(), {}, id="empty"),
        pytest.param(Profile(provider=ProviderPreferences()), {}, id="empty-provider"),
        pytest.param(
            Profile(provider=ProviderPreferences(only=[], exclude=[], quantizations=[])),
            {},
            id="empty-lists-are-unset",
        ),
        pytest.param(
            Profile(provider=ProviderPreferences(max_completion_price=0)),
            {"provider": {"max_price": {"completion": 0.0}}},
            id="zero-price-is-a-price",
        ),
        pytest.param(
            Profile(provider=ProviderPreferences(allow_fallbacks=True)),
            {"provider": {"allow_fallbacks": True}},
            id="true-bool-sent",
        ),
        pytest.param(Profile(models=[]), {}, id="no-fallback-models"),
        pytest.param(
            Profile(structured_output_strategy="prefer_response_format"), {}, id="strategy-local"
        ),
    ],
)
def test_unset_fields_emit_nothing(profile: Profile, expected: dict[str, Any]) -> None:
    assert profile.to_request_body() == expected


def test_provider_accepts_a_plain_dict() -> None:
    profile = Profile.model_validate({"provider": {"sort": "price", "exclude": ["Together"]}})
    assert profile.to_request_body() == {"provider": {"sort": "price", "ignore": ["Together"]}}


def test_exacto_sort_from_the_api_is_accepted() -> None:
    assert ProviderPreferences(sort="exacto").to_wire() == {"sort": "exacto"}


def test_reasoning_none_is_dropped_for_a_model_without_reasoning(catalog: ModelCatalog) -> None:
    profile = Profile(reasoning_effort="none")
    assert profile.to_request_body(catalog.get("openai/gpt-4o")) == {}
    assert profile.to_request_body(catalog.get("openai/o1")) == {"reasoning": {"effort": "none"}}


def test_profiles_are_frozen_and_hashable() -> None:
    prefs = ProviderPreferences(only=["anthropic"])
    with pytest.raises(ValidationError, match="frozen"):
        prefs.sort = "price"  # type: ignore[misc]
    assert hash(Profile(provider=prefs)) == hash(Profile(provider={"only": ["anthropic"]}))


# --------------------------------------------------------------------------------------------
# validation without the catalog: pydantic errors that name the field


def _error_of(model: type[Any], **values: Any) -> str:
    with pytest.raises(ValidationError) as info:
        model(**values)
    return str(info.value)


def test_both_reasoning_fields_are_rejected() -> None:
    message = _error_of(Profile, reasoning_effort="low", reasoning_max_tokens=100)
    assert "reasoning_effort and reasoning_max_tokens are mutually exclusive" in message


@pytest.mark.parametrize(
    ("model", "values", "field", "allowed"),
    [
        pytest.param(Profile, {"reasoning_effort": "extreme"}, "reasoning_effort",
                     "'none', 'minimal', 'low', 'medium', 'high', 'xhigh' or 'max'", id="effort"),
        pytest.param(ProviderPreferences, {"sort": "cheapest"}, "sort",
                     "'price', 'throughput', 'latency' or 'exacto'", id="sort"),
        pytest.param(ProviderPreferences, {"data_collection": "never"}, "data_collection",
                     "'allow' or 'deny'", id="data_collection"),
        pytest.param(ProviderPreferences, {"quantizations": ["fp8", "q4"]}, "quantizations.1",
                     "'int4', 'int8', 'fp4', 'mxfp4', 'nvfp4', 'fp6', 'fp8', 'mxfp8', 'fp16', "
                     "'bf16', 'fp32' or 'unknown'", id="quantization"),
        pytest.param(Profile, {"structured_output_strategy": "tools"},
                     "structured_output_strategy", "'prefer_response_format' or 'prefer_tools'",
                     id="strategy"),
    ],
)  # fmt: skip
def test_unknown_enum_values_name_the_field_and_the_allowed_values(
    model: type[Any], values: dict[str, Any], field: str, allowed: str
) -> None:
    message = _error_of(model, **values)
    assert field in message
    assert allowed in message


@pytest.mark.parametrize("field", ["max_prompt_price", "max_completion_price"])
@pytest.mark.parametrize("value", [-0.01, float("inf"), float("nan")])
def test_negative_or_non_finite_prices_are_rejected(field: str, value: float) -> None:
    message = _error_of(ProviderPreferences, **{field: value})
    assert field in message


def test_reasoning_max_tokens_must_be_positive() -> None:
    assert "reasoning_max_tokens" in _error_of(Profile, reasoning_max_tokens=0)


@pytest.mark.parametrize(
    ("model", "key", "hint"),
    [
        pytest.param(ProviderPreferences, "excludes", "Did you mean exclude?", id="excludes"),
        pytest.param(ProviderPreferences, "ignore", "Did you mean exclude?", id="wire-ignore"),
        pytest.param(ProviderPreferences, "min_throughput",
                     "Did you mean preferred_min_throughput?", id="min_throughput"),
        pytest.param(MaxPrice, "completions", "Did you mean completion?", id="max_price-key"),
        pytest.param(Profile, "reasoning",
                     "Did you mean reasoning_effort or reasoning_max_tokens?", id="reasoning"),
        pytest.param(Profile, "fallbacks", "Its fields are: models,", id="no-guess"),
    ],
)  # fmt: skip
def test_unknown_keys_are_rejected_with_the_field_meant(
    model: type[Any], key: str, hint: str
) -> None:
    message = _error_of(model, **{key: ["x"]})
    assert f"{model.__name__} has no field {key!r}" in message
    assert hint in message


def test_only_and_exclude_may_not_name_the_same_provider() -> None:
    message = _error_of(ProviderPreferences, only=["Anthropic"], exclude=["anthropic", "x"])
    assert "only and exclude both name ['anthropic']" in message


@pytest.mark.parametrize("field", ["only", "exclude", "order"])
def test_blank_provider_names_are_rejected(field: str) -> None:
    assert "non-empty" in _error_of(ProviderPreferences, **{field: ["anthropic", " "]})


# --------------------------------------------------------------------------------------------
# validation against the catalog


def test_reasoning_on_a_model_without_reasoning_names_field_and_model(
    catalog: ModelCatalog,
) -> None:
    with pytest.raises(ValueError, match="reasoning_effort='high'") as info:
        validate_profile(Profile(reasoning_effort="high"), catalog.get("openai/gpt-4o"), catalog)
    assert "'openai/gpt-4o' does not support reasoning" in str(info.value)
    with pytest.raises(ValueError, match=r"profiles\['deep'\].reasoning_max_tokens"):
        validate_profile(
            Profile(reasoning_max_tokens=500), catalog.get("openai/gpt-4o"), name="deep"
        )


def test_reasoning_none_on_a_model_without_reasoning_is_fine(catalog: ModelCatalog) -> None:
    validate_profile(Profile(reasoning_effort="none"), catalog.get("openai/gpt-4o"), catalog)


def test_effort_outside_the_listed_efforts_lists_the_allowed_ones() -> None:
    info = ModelInfo.from_api(OPUS_5)
    with pytest.raises(ValueError) as error:
        validate_profile(Profile(reasoning_effort="minimal"), info)
    message = str(error.value)
    assert "reasoning_effort='minimal'" in message and "'anthropic/claude-opus-5'" in message
    assert "allowed values: 'max', 'xhigh', 'high', 'medium', 'low', 'none'" in message
    for effort in ("max", "low", "none"):  # listed, and "none" as the model is not mandatory
        validate_profile(Profile(reasoning_effort=effort), info)  # type: ignore[arg-type]


def test_none_effort_on_a_model_that_always_reasons() -> None:
    info = ModelInfo.from_api(GEMINI_PRO_LATEST)
    with pytest.raises(ValueError, match="'none' cannot turn it off") as error:
        validate_profile(Profile(reasoning_effort="none"), info)
    assert "allowed values: 'high', 'medium', 'low'." in str(error.value)


def test_max_tokens_where_the_model_takes_only_efforts() -> None:
    info = ModelInfo.from_api(
        {**OPUS_5, "reasoning": {**OPUS_5["reasoning"], "supports_max_tokens": False}}  # type: ignore[dict-item]
    )
    with pytest.raises(ValueError, match="takes a reasoning effort, not a token budget"):
        validate_profile(Profile(reasoning_max_tokens=1000), info)
    validate_profile(Profile(reasoning_max_tokens=1000), ModelInfo.from_api(OPUS_5))


def test_unknown_fallback_model_names_the_index_and_suggests(catalog: ModelCatalog) -> None:
    profile = Profile(models=["openai/gpt-4o-mini", "anthropic/claude-sonet-4"])
    with pytest.raises(ModelNotFoundError) as error:
        validate_profile(profile, catalog.get("openai/gpt-4o"), catalog, name="cheap")
    message = str(error.value)
    assert "profiles['cheap'].models[1]='anthropic/claude-sonet-4'" in message
    assert "anthropic/claude-sonnet-4" in error.value.suggestions
    assert isinstance(error.value, ValueError)


def test_known_fallback_models_pass(catalog: ModelCatalog) -> None:
    profile = Profile(models=["openai/gpt-4o-mini", "google/gemma-3-27b-it:free"])
    validate_profile(profile, catalog.get("openai/gpt-4o"), catalog)


# --------------------------------------------------------------------------------------------
# sampling parameters the model does not list


def test_temperature_zero_is_kept_where_supported(catalog: ModelCatalog) -> None:
    kept, dropped = filter_supported_params(
        {"temperature": 0.0, "top_p": 0.5, "seed": 0}, catalog.get("openai/gpt-4o")
    )
    assert kept == {"temperature": 0.0, "top_p": 0.5, "seed": 0}
    assert dropped == {}


def test_unlisted_sampling_parameters_are_dropped_with_a_debug_log(
    catalog: ModelCatalog, caplog: pytest.LogCaptureFixture
) -> None:
    params = {"temperature": 0.0, "top_p": 1, "seed": 7, "max_tokens": 100, "stop": ["x"],
              "tools": [], "user": "u1"}  # fmt: skip
    with caplog.at_level("DEBUG", logger="langchain_openrouter_fenic.routing"):
        kept, dropped = filter_supported_params(params, catalog.get("openai/o1"))
    assert dropped == {"temperature": 0.0, "top_p": 1, "stop": ["x"]}
    assert kept == {"seed": 7, "max_tokens": 100, "tools": [], "user": "u1"}
    assert "openai/o1 does not list ['stop', 'temperature', 'top_p']" in caplog.text


def test_max_tokens_and_max_completion_tokens_stand_for_each_other() -> None:
    only_new = ModelInfo(id="x/new", supported_parameters=frozenset({"max_completion_tokens"}))
    only_old = ModelInfo(id="x/old", supported_parameters=frozenset({"max_tokens"}))
    assert filter_supported_params({"max_tokens": 5}, only_new) == ({"max_tokens": 5}, {})
    assert filter_supported_params({"max_completion_tokens": 5}, only_old)[1] == {}


def test_a_model_listing_nothing_is_not_filtered() -> None:
    params = {"temperature": 0.2, "logit_bias": {"1": 2}}
    assert filter_supported_params(params, ModelInfo(id="x/y")) == (params, {})


# --------------------------------------------------------------------------------------------
# every typed routing and request field documents itself, with its OpenRouter docs link


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``name: type = ...`` followed by a string literal, in the class body's source."""
    import ast
    import inspect
    import itertools
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    found = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.target.id] = after.value.value
    return found


def test_every_routing_and_request_field_has_a_docstring_with_its_docs_link() -> None:
    from langchain_openrouter_fenic.routing import RoutingFields
    from langchain_openrouter_fenic.settings import SettingFields

    linked = {
        ProviderPreferences: list(ProviderPreferences.model_fields),
        RoutingFields: list(RoutingFields.model_fields),
        SettingFields: ["user", "session_id", "trace", "request_metadata", "verbosity"],
    }
    for cls, names in linked.items():
        docs = _attribute_docstrings(cls)
        for name in names:
            assert name in docs, f"{cls.__name__}.{name} has no attribute docstring"
            assert "https://openrouter.ai/docs/" in docs[name], f"{cls.__name__}.{name}: no link"
    from langchain_openrouter_fenic.routing import PerformanceCutoffs, ProviderSortSpec
    from langchain_openrouter_fenic.settings import Trace

    for cls in (MaxPrice, PerformanceCutoffs, ProviderSortSpec, Trace):  # the class links
        assert "https://openrouter.ai/docs/" in (cls.__doc__ or ""), cls.__name__
        assert set(_attribute_docstrings(cls)) == set(cls.model_fields), cls.__name__
