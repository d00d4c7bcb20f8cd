"""Every model id form OpenRouter serves works end to end: requests, structured output, the CLI.

Variants (static rows such as ``:free``; dynamic suffixes such as ``:nitro`` or ``:exacto``, which
stack), ``~author/family-latest`` aliases, ``model@preset/slug`` and ``@preset/slug`` alone. The
emulator accepts exactly these forms (and knows the account's presets), as OpenRouter does.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from langchain_openrouter_fenic import ChatOpenRouter, ModelNotFoundError
from langchain_openrouter_fenic._cli import main as cli
from tests.support.emulator import OpenRouterEmulator

PRESETS = {"my-preset": "openai/gpt-4o", "comedian": "mistralai/mistral-nemo"}


class Joke(BaseModel):
    setup: str
    punchline: str


@pytest.fixture(scope="module")
def _server() -> Iterator[OpenRouterEmulator]:
    with OpenRouterEmulator(presets=PRESETS).start() as server:
        yield server


@pytest.fixture
def emu(_server: OpenRouterEmulator) -> OpenRouterEmulator:
    _server.reset()
    return _server


def _llm(emu: OpenRouterEmulator, model: str, **kw: Any) -> ChatOpenRouter:
    return ChatOpenRouter(model=model, api_key="sk-test", base_url=emu.url, max_retries=0, **kw)


def _sent(emu: OpenRouterEmulator) -> dict[str, Any]:
    body = emu.chat_requests()[-1].json
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize(
    ("model", "record"),
    [
        pytest.param("moonshotai/kimi-k2:exacto", "moonshotai/kimi-k2", id="exacto"),
        pytest.param("openai/gpt-4o:nitro", "openai/gpt-4o", id="nitro"),
        pytest.param("openai/gpt-4o:floor", "openai/gpt-4o", id="floor"),
        pytest.param("anthropic/claude-3.7-sonnet:thinking",
                     "anthropic/claude-3.7-sonnet:thinking", id="thinking-row"),
        pytest.param("google/gemma-3-27b-it:free", "google/gemma-3-27b-it:free", id="free-row"),
        pytest.param("google/gemma-3-27b-it:free:nitro", "google/gemma-3-27b-it:free",
                     id="stacked"),
        pytest.param("~openai/gpt-latest", "~openai/gpt-latest", id="latest-alias"),
        pytest.param("~anthropic/claude-sonnet-latest:floor", "~anthropic/claude-sonnet-latest",
                     id="latest-alias-variant"),
        pytest.param("openai/gpt-4o@preset/my-preset", "openai/gpt-4o", id="model-and-preset"),
        pytest.param("openai/gpt-4o:nitro@preset/my-preset", "openai/gpt-4o",
                     id="variant-and-preset"),
    ],
)  # fmt: skip
def test_served_ids_are_sent_as_given_and_checked_on_their_record(
    emu: OpenRouterEmulator, model: str, record: str
) -> None:
    llm = _llm(emu, model)
    assert llm.invoke("hi").content
    assert _sent(emu)["model"] == model
    assert llm.model_info().id == record
    assert emu.count("/models/user") == 1  # found in the first copy: no refetch


def test_catalog_checks_apply_to_the_model_part_of_a_preset_id(emu: OpenRouterEmulator) -> None:
    _llm(emu, "openai/o1@preset/my-preset", temperature=0.2).invoke("hi")
    assert "temperature" not in _sent(emu)  # o1 lists no temperature: filtered, as for o1
    with pytest.raises(ModelNotFoundError, match=r"'openai/gpt-4\.o' is not in") as error:
        _llm(emu, "openai/gpt-4.o@preset/my-preset").invoke("hi")
    assert "openai/gpt-4o" in error.value.suggestions
    assert emu.chat_requests()[1:] == []


def test_a_preset_alone_is_sent_without_catalog_checks(emu: OpenRouterEmulator) -> None:
    llm = _llm(emu, "@preset/my-preset", temperature=0.3)
    assert llm.invoke("hi").content
    assert _sent(emu)["model"] == "@preset/my-preset" and _sent(emu)["temperature"] == 0.3
    assert emu.count("/models") == 0 and emu.count("/models/user") == 0
    with pytest.raises(ModelNotFoundError, match="a preset alone"):
        llm.model_info()


def test_an_unlisted_static_variant_is_a_different_unknown_model(emu: OpenRouterEmulator) -> None:
    with pytest.raises(ModelNotFoundError, match="'openai/gpt-4o:free' is not in"):
        _llm(emu, "openai/gpt-4o:free").invoke("hi")  # the paid model has other limits
    assert emu.chat_requests() == []


def test_online_is_deprecated_upstream_and_warned_once(emu: OpenRouterEmulator) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            online = _llm(emu, "openai/gpt-4o:online")
        _llm(emu, "openai/gpt-4o:nitro")
    deprecations = [w for w in caught if issubclass(w.category, FutureWarning)]
    assert len(deprecations) == 1
    assert "':online'" in str(deprecations[0].message)
    assert "openrouter:web_search" in str(deprecations[0].message)
    assert online.invoke("hi").content  # still served


@pytest.mark.parametrize("model", ["openai/gpt-4o@x", "openai/gpt-4o@preset/", "@preset"])
def test_a_malformed_preset_id_is_refused_at_construction(model: str) -> None:
    with pytest.raises(ValueError, match=rf"model={re.escape(repr(model))}: .*'preset/<slug>'"):
        ChatOpenRouter(model=model, api_key="sk-test")


def test_structured_output_on_a_preset_alone_needs_a_method(emu: OpenRouterEmulator) -> None:
    llm = _llm(emu, "@preset/comedian")
    with pytest.raises(ValueError, match=r"'@preset/comedian'.*method="):
        llm.with_structured_output(Joke)
    joke = llm.with_structured_output(Joke, method="json_schema").invoke("Tell me a joke")
    assert isinstance(joke, Joke)
    body = _sent(emu)
    assert body["response_format"]["type"] == "json_schema"
    # `provider` in a request replaces the preset's own provider settings: none is sent
    assert "provider" not in body
    assert emu.count("/models/user") == 0


def test_structured_output_on_model_at_preset_chooses_from_the_model(
    emu: OpenRouterEmulator,
) -> None:
    chain = _llm(emu, "anthropic/claude-3.7-sonnet@preset/my-preset").with_structured_output(Joke)
    assert isinstance(chain.invoke("Tell me a joke"), Joke)
    body = _sent(emu)
    assert body["tool_choice"]["function"]["name"] == "Joke"  # claude 3.7 lists tools only
    assert "provider" not in body


@pytest.mark.parametrize(
    ("model", "shown", "requested"),
    [
        ("openai/gpt-4o:nitro", "openai/gpt-4o", "openai/gpt-4o:nitro: described by"),
        ("moonshotai/kimi-k2:exacto", "moonshotai/kimi-k2", "kimi-k2:exacto: described by"),
        ("~openai/gpt-latest", "~openai/gpt-latest", None),
        ("openai/gpt-4o@preset/x", "openai/gpt-4o", "preset 'x' is applied by OpenRouter"),
    ],
)
def test_cli_explain_resolves_ids_as_the_model_does(
    model: str, shown: str, requested: str | None
) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli(["explain", model, "--offline"], stdout=out, stderr=err) == 0, err.getvalue()
    text = out.getvalue()
    assert text.startswith(f"Model       {shown}  (")
    assert ("Requested" in text) is (requested is not None)
    if requested:
        assert requested in " ".join(text.split())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("@preset/x", "is a preset alone"),
        ("openai/gpt-4o:free", "Unknown model 'openai/gpt-4o:free'"),
        ("openai/gpt-4o@x", "'preset/<slug>'"),
    ],
)
def test_cli_explain_refuses_what_the_model_refuses(model: str, message: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli(["explain", model, "--offline"], stdout=out, stderr=err) == 1
    assert message in err.getvalue() and out.getvalue() == ""
