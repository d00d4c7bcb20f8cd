"""Structured output end to end, replayed offline from cassettes (issue 4, "Must show").

Each test runs a full ``with_structured_output(...).invoke`` (or its fail-fast refusal) and every
HTTP exchange it makes -- the catalog, ``/endpoints``, the chat calls -- comes from its own
cassette in ``cassettes/emulator/structured_output/``, recorded against the project's loopback
OpenRouter emulator. To re-record them::

    LANGCHAIN_OPENROUTER_FENIC_RECORD=1 .venv/bin/python -m pytest \
        tests/integration_tests/test_structured_output_cassettes.py

Without that variable no server runs: a request that matches no recorded one (method, path and
JSON body) fails the test, and so does a recorded exchange the test did not replay.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
import yaml
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_openrouter_fenic import (
    ChatOpenRouter,
    ProviderPreferences,
    StructuredOutputUnsupportedError,
)
from tests.conftest import CASSETTES, project_vcr
from tests.support.cassettes import json_body_matcher, reset_shared_state

RECORD = os.environ.get("LANGCHAIN_OPENROUTER_FENIC_RECORD") == "1"
PORT = 18768
BASE_URL = f"http://127.0.0.1:{PORT}/api/v1"
FOLDER = CASSETTES / "emulator" / "structured_output"

BOTH_MODEL = "openai/gpt-4o-mini"  # lists structured_outputs and tools + tool_choice
TOOLS_MODEL = "deepseek/deepseek-chat"  # lists tools + tool_choice, not structured_outputs
ENDPOINTS_MODEL = "openai/gpt-4o"  # lists both; served here by three providers (below)
NEITHER_MODEL = "alpindale/goliath-120b"  # lists neither: no strategy at all
CATALOG = [BOTH_MODEL, TOOLS_MODEL, ENDPOINTS_MODEL, NEITHER_MODEL]

SETUP = "Why do cats sit on laptops?"
PUNCHLINE = "To keep an eye on the mouse."
PROMPT = f'Tell me a joke about cats with setup "{SETUP}" and punchline "{PUNCHLINE}".'

# ENDPOINTS_MODEL's providers: only Acme supports structured_outputs, all three force tools
_COMMON = ["max_tokens", "response_format", "tools", "tool_choice"]
_PRICES = {"prompt": "0.0000025", "completion": "0.00001"}
ENDPOINT_RECORDS = [
    {"provider_name": name, "tag": name.lower(), "supported_parameters": params, "pricing": _PRICES}
    for name, params in [
        ("Acme", [*_COMMON, "structured_outputs"]),
        ("Beta", _COMMON),
        ("Gamma", _COMMON),
    ]
]


# --------------------------------------------------------------------------------------------
# the three kinds of schema


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")


class JokeDict(TypedDict):
    """Joke to tell user."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str, ..., "answer to resolve the joke"]


JOKE_JSON_SCHEMA: dict[str, Any] = {
    "title": "JokeSchema",
    "description": "Joke to tell user.",
    "type": "object",
    "properties": {
        "setup": {"type": "string", "description": "question to set up a joke"},
        "punchline": {"type": "string", "description": "answer to resolve the joke"},
    },
    "required": ["setup", "punchline"],
}

# kind id -> (schema, the name it gets on the wire)
SCHEMAS: dict[str, tuple[Any, str]] = {
    "pyd": (Joke, "Joke"),
    "td": (JokeDict, "JokeDict"),
    "dict": (JOKE_JSON_SCHEMA, "JokeSchema"),
}

# strategy id -> (model, ChatOpenRouter options, method expected on the wire)
STRATEGIES: dict[str, tuple[str, dict[str, Any], str]] = {
    "schema": (BOTH_MODEL, {}, "json_schema"),
    "tool": (TOOLS_MODEL, {}, "function_calling"),
    "prefer_tools": (
        BOTH_MODEL,
        {"structured_output_strategy": "prefer_tools"},
        "function_calling",
    ),
}


# --------------------------------------------------------------------------------------------
# recording and replay


@pytest.fixture(scope="module")
def _recording_emulator() -> Iterator[Any]:
    """The loopback emulator on a fixed port, only while recording (replay needs no server)."""
    if not RECORD:
        yield None
        return
    from tests.support.cassettes import catalog_entries
    from tests.support.emulator import OpenRouterEmulator

    emulator = OpenRouterEmulator(
        port=PORT,
        catalog=catalog_entries(CATALOG),
        endpoints={ENDPOINTS_MODEL: ENDPOINT_RECORDS},
    )
    with emulator as emu:
        yield emu


@pytest.fixture
def emulator(_recording_emulator: Any) -> Any:
    """The recording emulator with requests and scripts forgotten, or None when replaying."""
    if _recording_emulator is not None:
        _recording_emulator.reset()
    return _recording_emulator


@pytest.fixture
def cassette(request: pytest.FixtureRequest, emulator: Any) -> Iterator[Any]:
    """This test's cassette (one per test id), recorded afresh or replayed to the last exchange."""
    reset_shared_state()
    name = request.node.name.replace("[", "-").replace("]", "")
    path = FOLDER / f"{name}.yaml"
    if RECORD:
        path.unlink(missing_ok=True)  # "all" mode would otherwise keep stale exchanges
    elif not path.exists():
        pytest.fail(f"no cassette {path}: record it with LANGCHAIN_OPENROUTER_FENIC_RECORD=1")
    recorder = project_vcr(
        record_mode="all" if RECORD else "none", match_on=["method", "path", "json_body"]
    )
    recorder.register_matcher("json_body", json_body_matcher)
    with recorder.use_cassette(str(path)) as tape:
        yield tape
    if RECORD:
        assert emulator.failures == [], emulator.failures
    else:
        unplayed = [r.path for i, r in enumerate(tape.requests) if tape.play_counts[i] == 0]
        assert not unplayed, f"recorded exchanges this run did not replay: {unplayed}"


def _llm(model: str, **options: Any) -> ChatOpenRouter:
    settings: dict[str, Any] = {
        "model": model,
        "api_key": "structured-output-key",  # never recorded: Authorization is filtered
        "base_url": BASE_URL,
        "max_retries": 0,
    }
    return ChatOpenRouter(**settings, **options)


def _chat_bodies(tape: Any) -> list[dict[str, Any]]:
    """The JSON bodies of the chat requests in the cassette, oldest first."""
    bodies = []
    for request in tape.requests:
        if request.method == "POST" and request.path.endswith("/chat/completions"):
            raw = request.body
            bodies.append(json.loads(raw.decode() if isinstance(raw, bytes) else raw))
    return bodies


def _paths(tape: Any) -> list[str]:
    return [request.path for request in tape.requests]


def _assert_wire(body: dict[str, Any], method: str, name: str) -> None:
    """The request pieces of ``method`` for the schema called ``name``, and nothing else."""
    if method == "json_schema":
        response_format = body["response_format"]
        spec = response_format["json_schema"]
        assert (response_format["type"], spec["name"], spec["strict"]) == (
            "json_schema", name, True,
        )  # fmt: skip
        assert spec["schema"]["additionalProperties"] is False
        assert spec["schema"]["required"] == ["setup", "punchline"]
        assert "tools" not in body and "tool_choice" not in body
    else:
        (tool,) = body["tools"]
        assert (tool["type"], tool["function"]["name"]) == ("function", name)
        assert tool["function"]["parameters"]["additionalProperties"] is False
        assert body["tool_choice"] == {"type": "function", "function": {"name": name}}
        # neither model lists parallel_tool_calls: with require_parameters it is never sent
        assert "parallel_tool_calls" not in body
        assert "response_format" not in body
    assert body["provider"]["require_parameters"] is True
    assert "ls_structured_output_format" not in body


def _assert_joke(result: Any, kind: str) -> None:
    if kind == "pyd":
        assert isinstance(result, Joke)
        assert (result.setup, result.punchline) == (SETUP, PUNCHLINE)
    else:
        assert result == {"setup": SETUP, "punchline": PUNCHLINE}


def _assert_raw(raw: Any, method: str, name: str) -> None:
    assert isinstance(raw, AIMessage)
    assert raw.response_metadata["provider"]
    if method == "json_schema":
        assert json.loads(str(raw.content)) == {"setup": SETUP, "punchline": PUNCHLINE}
        assert raw.tool_calls == []
    else:
        (call,) = raw.tool_calls
        assert (call["name"], call["args"]) == (name, {"setup": SETUP, "punchline": PUNCHLINE})


# --------------------------------------------------------------------------------------------
# each strategy x each schema kind x include_raw


@pytest.mark.parametrize("include_raw", [False, True], ids=["parsed", "raw"])
@pytest.mark.parametrize("kind", list(SCHEMAS))
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_strategy(cassette: Any, strategy: str, kind: str, include_raw: bool) -> None:
    model, options, method = STRATEGIES[strategy]
    schema, name = SCHEMAS[kind]

    structured = _llm(model, **options).with_structured_output(schema, include_raw=include_raw)
    result: Any = structured.invoke(PROMPT)

    if include_raw:
        assert set(result) == {"raw", "parsed", "parsing_error"}
        assert result["parsing_error"] is None
        _assert_raw(result["raw"], method, name)
        _assert_joke(result["parsed"], kind)
    else:
        _assert_joke(result, kind)
    (body,) = _chat_bodies(cassette)
    _assert_wire(body, method, name)
    assert body["model"] == model
    # auto on a model listing both asks /endpoints which one more providers support
    assert any(p.endswith("/endpoints") for p in _paths(cassette)) is (strategy == "schema")


# --------------------------------------------------------------------------------------------
# endpoint-aware choice under only / exclude


@pytest.mark.parametrize(
    ("provider", "method", "routing"),
    [
        (None, "function_calling", {}),  # 1/3 structured_outputs vs 3/3 tools: widest coverage
        (ProviderPreferences(only=("acme",)), "json_schema", {"only": ["acme"]}),
        (
            ProviderPreferences(only=("Acme", "beta")),
            "function_calling",
            {"only": ["Acme", "beta"]},
        ),
        (ProviderPreferences(exclude=("acme",)), "function_calling", {"ignore": ["acme"]}),
        (
            ProviderPreferences(exclude=("Beta", "gamma")),
            "json_schema",
            {"ignore": ["Beta", "gamma"]},
        ),
    ],
    ids=["auto", "only_acme", "only_acme_beta", "exclude_acme", "exclude_beta_gamma"],
)
def test_endpoint_aware(
    cassette: Any,
    caplog: pytest.LogCaptureFixture,
    provider: ProviderPreferences | None,
    method: str,
    routing: dict[str, Any],
) -> None:
    llm = _llm(ENDPOINTS_MODEL, provider=provider)

    with caplog.at_level(logging.INFO, logger="langchain_openrouter_fenic"):
        result = llm.with_structured_output(Joke).invoke(PROMPT)

    _assert_joke(result, "pyd")
    (body,) = _chat_bodies(cassette)
    _assert_wire(body, method, "Joke")
    for key, value in routing.items():
        assert body["provider"][key] == value
    assert sum(p.endswith(f"/models/{ENDPOINTS_MODEL}/endpoints") for p in _paths(cassette)) == 1
    chosen = f"Structured output for {ENDPOINTS_MODEL}: {method}, because"
    assert any(chosen in r.getMessage() for r in caplog.records), caplog.text


# --------------------------------------------------------------------------------------------
# 404 recovery, and the model that supports nothing


def test_no_endpoints_recovery(
    cassette: Any, emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    if emulator is not None:
        from tests.support.emulator import Reply

        emulator.enqueue(Reply.no_endpoints())

    with caplog.at_level(logging.WARNING, logger="langchain_openrouter_fenic"):
        result = _llm(BOTH_MODEL).with_structured_output(Joke).invoke(PROMPT)

    _assert_joke(result, "pyd")
    first, second = _chat_bodies(cassette)
    _assert_wire(first, "json_schema", "Joke")
    _assert_wire(second, "function_calling", "Joke")
    statuses = [r["status"]["code"] for r in cassette.responses if "status" in r]
    assert statuses[-2:] == [404, 200]
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "retrying once with a forced tool call" in warning.getMessage()


def test_neither_fails_fast(cassette: Any) -> None:
    llm = _llm(NEITHER_MODEL)

    with pytest.raises(StructuredOutputUnsupportedError) as caught:
        llm.with_structured_output(Joke)

    message = str(caught.value)
    assert NEITHER_MODEL in message and "structured_outputs" in message
    assert "Choose another model" in message
    assert _chat_bodies(cassette) == []
    assert _paths(cassette) == ["/api/v1/models/user"]  # the catalog only


# --------------------------------------------------------------------------------------------
# the cassettes themselves


def test_cassettes_are_small_and_keep_no_key() -> None:
    """Every cassette here is small (a 4-model catalog) and holds no credential header."""
    files = sorted(FOLDER.glob("*.yaml"))
    assert len(files) >= 18 + 5 + 2, f"expected the recorded cassettes in {FOLDER}"
    for path in files:
        assert path.stat().st_size < 24_000, f"{path.name} is {path.stat().st_size} bytes"
        document = yaml.safe_load(path.read_text())
        for interaction in document["interactions"]:
            headers = {h.lower() for h in interaction["request"]["headers"]}
            assert not headers & {"authorization", "cookie", "x-api-key"}, path.name
        assert "structured-output-key" not in path.read_text(), path.name
