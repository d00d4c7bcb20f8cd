"""``llm.profile`` from the catalog: real entries of the shipped 371-model snapshot."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from langchain_core.language_models import model_profile as lc_model_profile
from langchain_core.language_models.model_profile import ModelProfile

import langchain_openrouter_fenic
from langchain_openrouter_fenic.catalog import ModelInfo
from langchain_openrouter_fenic.catalog.model_profile import model_profile_from_info

SNAPSHOT = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"


@pytest.fixture(scope="module")
def raw_by_id() -> dict[str, dict[str, Any]]:
    return {m["id"]: m for m in json.loads(SNAPSHOT.read_text())["data"]}


def _profile(raw_by_id: dict[str, dict[str, Any]], model_id: str) -> ModelProfile:
    return model_profile_from_info(ModelInfo.from_api(raw_by_id[model_id]))


def test_gpt_4o(raw_by_id: dict[str, dict[str, Any]]) -> None:
    profile = _profile(raw_by_id, "openai/gpt-4o")
    assert profile == {
        "name": "OpenAI: GPT-4o",
        "max_input_tokens": 128000,
        "max_output_tokens": 16384,
        "text_inputs": True,
        "image_inputs": True,
        "image_url_inputs": True,
        "pdf_inputs": True,
        "audio_inputs": False,
        "video_inputs": False,
        "text_outputs": True,
        "image_outputs": False,
        "audio_outputs": False,
        "video_outputs": False,
        "reasoning_output": False,
        "tool_calling": True,
        "tool_choice": True,
        "structured_output": True,
        "temperature": True,
        "release_date": "2024-05-13",
    }


def test_claude_sonnet_4(raw_by_id: dict[str, dict[str, Any]]) -> None:
    profile = _profile(raw_by_id, "anthropic/claude-sonnet-4")
    assert profile["max_input_tokens"] == 1_000_000
    assert profile["max_output_tokens"] == 64000
    assert profile["reasoning_output"] is True  # lists reasoning / include_reasoning
    assert profile["tool_calling"] is True and profile["tool_choice"] is True
    # it lists no structured_outputs: no native json_schema output
    assert profile["structured_output"] is False
    assert profile["pdf_inputs"] is True and profile["image_inputs"] is True
    assert profile["audio_inputs"] is False


def test_a_free_model(raw_by_id: dict[str, dict[str, Any]]) -> None:
    raw = raw_by_id["meta-llama/llama-3.3-70b-instruct:free"]
    profile = _profile(raw_by_id, raw["id"])
    assert profile["max_input_tokens"] == raw["context_length"]
    assert profile["tool_calling"] is ("tools" in raw["supported_parameters"])
    assert profile["temperature"] is ("temperature" in raw["supported_parameters"])
    assert ModelInfo.from_api(raw).is_free


def test_a_model_without_tools(raw_by_id: dict[str, dict[str, Any]]) -> None:
    raw = raw_by_id["cohere/command-a"]
    assert "tools" not in raw["supported_parameters"]
    profile = _profile(raw_by_id, raw["id"])
    assert profile["tool_calling"] is False
    assert profile["tool_choice"] is False


def test_o1_has_no_temperature(raw_by_id: dict[str, dict[str, Any]]) -> None:
    profile = _profile(raw_by_id, "openai/o1")
    assert profile["temperature"] is False
    assert profile["reasoning_output"] is True


def test_unknown_max_output_is_left_out_not_guessed(raw_by_id: dict[str, dict[str, Any]]) -> None:
    no_cap = next(
        raw for raw in raw_by_id.values() if raw["top_provider"]["max_completion_tokens"] is None
    )
    assert "max_output_tokens" not in _profile(raw_by_id, no_cap["id"])


def test_router_with_image_and_video(raw_by_id: dict[str, dict[str, Any]]) -> None:
    profile = _profile(raw_by_id, "openrouter/auto")
    assert profile["video_inputs"] is True and profile["audio_inputs"] is True
    assert profile["image_outputs"] is True


def test_reasoning_effort_levels_from_the_newer_reasoning_object() -> None:
    # trimmed from ../shared/openrouter-recordings/catalog-newer-fields-sample.json
    info = ModelInfo.from_api({
        "id": "anthropic/claude-opus-5",
        "supported_parameters": ["reasoning", "include_reasoning", "tools"],
        "reasoning": {"mandatory": False, "supported_efforts": ["max", "xhigh", "high", "medium",
                      "low"], "default_effort": "high"},
    })  # fmt: skip
    profile = model_profile_from_info(info)
    assert profile["reasoning_effort_levels"] == ["max", "xhigh", "high", "medium", "low"]
    assert profile["reasoning_effort_default"] == "high"


def test_every_real_entry_gives_only_declared_keys(
    raw_by_id: dict[str, dict[str, Any]],
) -> None:
    declared = set(get_type_hints(ModelProfile))
    for model_id in raw_by_id:
        profile = _profile(raw_by_id, model_id)
        assert set(profile) <= declared, model_id
        assert profile["tool_calling"] is ("tools" in raw_by_id[model_id]["supported_parameters"])
        # LangChain's own check (langchain-core >= 1.2; private) stays silent
        warn_unknown = getattr(lc_model_profile, "_warn_unknown_profile_keys", None)
        if warn_unknown is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                warn_unknown(profile)
