"""Every real OpenRouter answer in cassettes/real/ read through ChatOpenRouter (SPEC §7).

The cassettes were made from public recordings (cassettes/README.md); expectations are derived
from each recorded answer itself, never from this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from langchain_openrouter_fenic import ChatOpenRouter, OpenRouterError
from tests.support.recordings import expected_from, parsed_tool_calls

CASSETTES = sorted((Path(__file__).parents[2] / "cassettes" / "real").glob("*.yaml"))


def _load(path: Path) -> tuple[str, dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    chat = data["interactions"][1]
    model = __import__("json").loads(chat["request"]["body"]).get("model") or "openai/gpt-4o"
    response = chat["response"]
    exp = expected_from(
        response["status"]["code"],
        response["headers"]["content-type"][0],
        response["body"]["string"],
    )
    return model, exp


def _run(llm: ChatOpenRouter, stream: bool) -> Any:
    if not stream:
        return llm.invoke("hi")
    message = None
    for chunk in llm.stream("hi"):
        message = chunk if message is None else message + chunk
    return message


async def _arun(llm: ChatOpenRouter, stream: bool) -> Any:
    if not stream:
        return await llm.ainvoke("hi")
    message = None
    async for chunk in llm.astream("hi"):
        message = chunk if message is None else message + chunk
    return message


def _check_error(err: Exception, exp: dict[str, Any]) -> None:
    assert isinstance(err, OpenRouterError), f"{type(err).__name__}: {err}"
    text = str(err)
    assert exp["error"]["message"][:60] in text
    if exp["error"]["provider"]:
        assert exp["error"]["provider"] in text
        assert err.provider_name == exp["error"]["provider"]
    if exp["status"] >= 400:
        assert err.status_code == exp["status"]


def _check_message(msg: Any, exp: dict[str, Any]) -> None:
    assert msg is not None
    assert msg.content == exp["text"]
    want, n_invalid = parsed_tool_calls(exp["tool_calls"])
    assert [(t["name"], t["args"]) for t in msg.tool_calls] == want
    assert len(msg.invalid_tool_calls) == n_invalid
    meta, usage = msg.response_metadata, msg.usage_metadata
    assert meta["model_provider"] == "openrouter"
    for key in ("provider", "finish_reason", "native_finish_reason"):
        assert meta.get(key) == exp[key], key
    assert meta.get("model_name") == exp["model"]
    assert meta.get("id") == exp["id"]
    u = exp["usage"]
    if u:
        assert usage["input_tokens"] == u["prompt_tokens"]
        assert usage["output_tokens"] == u["completion_tokens"]
        assert usage["total_tokens"] == u["total_tokens"]
        cached = (u.get("prompt_tokens_details") or {}).get("cached_tokens")
        if cached is not None:
            assert usage["input_token_details"]["cache_read"] == cached
        written = (u.get("prompt_tokens_details") or {}).get("cache_write_tokens")
        if written is not None:
            assert usage["input_token_details"]["cache_creation"] == written
        reasoning_tokens = (u.get("completion_tokens_details") or {}).get("reasoning_tokens")
        if reasoning_tokens is not None:
            assert usage["output_token_details"]["reasoning"] == reasoning_tokens
        if u.get("cost") is not None:
            assert meta["cost"] == u["cost"]
            assert "cost_estimated" not in meta
        if u.get("cost_details") is not None:
            assert meta["cost_details"] == u["cost_details"]
    if exp["reasoning"]:
        assert msg.additional_kwargs["reasoning_content"] == exp["reasoning"]
        assert any(b.get("type") == "reasoning" for b in msg.content_blocks)
    if exp.get("reasoning_details"):
        assert msg.additional_kwargs["reasoning_details"] == exp["reasoning_details"]


@pytest.mark.parametrize("path", CASSETTES, ids=[p.stem for p in CASSETTES])
def test_real_recording_sync(path: Path, replay_cassette: Any) -> None:
    model, exp = _load(path)
    with replay_cassette(path):
        llm = ChatOpenRouter(model=model, api_key=f"real-sync-{path.stem}", max_retries=0)
        try:
            msg = _run(llm, exp["stream"])
        except Exception as err:  # judged below
            assert "error" in exp, f"unexpected {type(err).__name__}: {err}"
            _check_error(err, exp)
            return
    assert "error" not in exp, "a recorded error raised nothing"
    _check_message(msg, exp)


@pytest.mark.parametrize("path", CASSETTES, ids=[p.stem for p in CASSETTES])
async def test_real_recording_async(path: Path, replay_cassette: Any) -> None:
    model, exp = _load(path)
    with replay_cassette(path):
        llm = ChatOpenRouter(model=model, api_key=f"real-async-{path.stem}", max_retries=0)
        try:
            msg = await _arun(llm, exp["stream"])
        except Exception as err:
            assert "error" in exp, f"unexpected {type(err).__name__}: {err}"
            _check_error(err, exp)
            return
    assert "error" not in exp
    _check_message(msg, exp)


def test_the_real_cassettes_are_all_here() -> None:
    assert len(CASSETTES) == 67
