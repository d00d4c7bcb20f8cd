"""One path for settings: every bad value is refused the same way on every path, before any
request (counted at the emulator), and a call combines with the active profile field by field.

The paths: the constructor, ``model_kwargs``, ``configurable_fields``, a ``Profile`` (routing
settings), ``bind(...)`` and per-call arguments (``invoke``, ``ainvoke``, ``stream``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.runnables import ConfigurableField
from pydantic import ValidationError

from langchain_openrouter_fenic import ChatOpenRouter, Profile, ProviderPreferences
from langchain_openrouter_fenic.settings import SETTING_NAMES, combine, read_call
from tests.support.emulator import OpenRouterEmulator

KEY = "sk-or-v1-settings-test"
SONNET = "anthropic/claude-sonnet-4"
GPT = "openai/gpt-4o"


@pytest.fixture(scope="module")
def emu() -> Iterator[OpenRouterEmulator]:
    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh(emu: OpenRouterEmulator) -> None:
    emu.reset()


class _Unlimited(BaseRateLimiter):
    """These tests count requests, not rates: no pacing between the many refused calls."""

    def acquire(self, *, blocking: bool = True) -> bool:
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        return True


def make(emu: OpenRouterEmulator, model: str = SONNET, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"rate_limiter": _Unlimited(), **kw}
    return ChatOpenRouter(model=model, api_key=KEY, base_url=emu.url, max_retries=0, **options)


def last_body(emu: OpenRouterEmulator) -> dict[str, Any]:
    body = emu.chat_requests()[-1].json
    assert isinstance(body, dict)
    return body


# --------------------------------------------------------------------------------------------
# every bad value, every path, zero requests

# (setting, bad value, words the message must contain)
BAD_SETTINGS: list[tuple[str, Any, list[str]]] = [
    ("temperature", 5, ["temperature=5", "less than or equal to 2"]),
    ("max_tokens", -1, ["max_tokens=-1", "greater than 0"]),
    ("stop", 123, ["stop=123", "a string or a list of strings"]),
    ("stop", "", ["stop=''", "non-empty strings"]),
    ("temperature", True, ["temperature=True", "a number is expected, not True"]),
    ("max_tokens", False, ["max_tokens=False", "a number is expected"]),
    ("reasoning_effort", "extreme", ["reasoning_effort='extreme'", "'minimal'", "'xhigh'"]),
    ("reasoning_max_tokens", 0, ["reasoning_max_tokens=0", "greater than 0"]),
    ("provider", {"sort": "cheapest"}, ["sort='cheapest'", "'price'", "'throughput'"]),
    ("provider", {"sort": {"by": "price", "partition": "all"}}, ["partition", "'model'"]),
    ("provider", {"exclude": ["Azure"], "only": ["azure"]}, ["only and exclude", "azure"]),
    ("provider", {"ignore": ["Azure"]}, ["'ignore'", "Did you mean exclude?"]),
    ("provider", {"max_price": {"prompt": -1}}, ["max_price.prompt", "greater than or equal"]),
    ("provider", {"max_price": {"tokens": 1}}, ["MaxPrice has no field 'tokens'"]),
    ("provider", {"max_prompt_price": 1, "max_price": {"prompt": 2}}, ["disagree", "give one"]),
    ("provider", {"preferred_min_throughput": -5}, ["preferred_min_throughput", "greater than"]),
    ("provider", {"preferred_max_latency": {}}, ["at least one of p50"]),
    ("provider", {"preferred_max_latency": {"p95": 1}}, ["has no field 'p95'", "p50, p75"]),
    ("provider", {"quantizations": ["fp9"]}, ["quantizations", "'fp8'"]),
    ("models", ["   "], ["models", "non-empty"]),
    ("models", "openai/gpt-4o", ["models='openai/gpt-4o'", "write ['openai/gpt-4o']"]),
    ("models", [" openai/gpt-4o"], ["models", "[0]=' openai/gpt-4o': remove the surrounding"]),
    ("provider", {"only": "openai"}, ["provider.only='openai'", "write ['openai']"]),
    ("provider", {"exclude": "Azure"}, ["provider.exclude='Azure'", "write ['Azure']"]),
    ("user", "u" * 129, ["user=", "at most 128 characters"]),
    ("user", "  ", ["user=", "blank"]),
    ("session_id", "s" * 257, ["session_id=", "at most 256 characters"]),
    ("request_metadata", {f"k{i}": "v" for i in range(17)}, ["at most 16 pairs"]),
    ("request_metadata", {"k" * 65: "v"}, ["keys are 1 to 64 characters"]),
    ("request_metadata", {"k": "v" * 513}, ["at most 512 characters"]),
    ("request_metadata", {"k": 1}, ["request_metadata.k=1", "valid string"]),
    ("verbosity", "loud", ["verbosity='loud'", "'low'", "'max'"]),
    ("trace", "t-1", ["trace='t-1'", "dictionary"]),
    ("trace", {"trace_id": 7}, ["trace.trace_id=7", "valid string"]),
    ("logit_bias", {"50256": "x"}, ["logit_bias", "valid number"]),
    ("top_logprobs", 21, ["top_logprobs=21", "less than or equal to 20"]),
    ("cache_control", {"type": "forever"}, ["cache_control", "the only type is 'ephemeral'"]),
    ("cache_control", {"type": "ephemeral", "ttl": "1d"}, ["cache_control", "'1h'"]),
    ("response_cache", "please", ["response_cache='please'", "valid boolean"]),
    ("response_cache_ttl", 0, ["response_cache_ttl=0", "greater than or equal to 1"]),
]
ROUTING = {"models", "reasoning_effort", "reasoning_max_tokens", "provider"}


def _via_constructor(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    make(emu, **{name: value})


def _via_model_kwargs(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    make(emu, model_kwargs={name: value})


def _via_configurable(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    chain = make(emu).configurable_fields(**{name: ConfigurableField(id="setting")})
    chain.invoke("hi", config={"configurable": {"setting": value}})


def _via_bind(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    make(emu).bind(**{name: value})


def _via_invoke(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    make(emu).invoke("hi", **{name: value})


def _via_stream(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    list(make(emu).stream("hi", **{name: value}))


def _via_ainvoke(emu: OpenRouterEmulator, name: str, value: Any) -> None:
    import asyncio

    asyncio.run(make(emu).ainvoke("hi", **{name: value}))


PATHS: dict[str, Callable[[OpenRouterEmulator, str, Any], None]] = {
    "constructor": _via_constructor,
    "model_kwargs": _via_model_kwargs,
    "configurable_fields": _via_configurable,
    "bind": _via_bind,
    "invoke": _via_invoke,
    "stream": _via_stream,
    "ainvoke": _via_ainvoke,
}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize(
    ("name", "value", "words"),
    BAD_SETTINGS,
    ids=[f"{name}-{i}" for i, (name, *_rest) in enumerate(BAD_SETTINGS)],
)
def test_a_bad_setting_is_refused_on_every_path_before_any_request(
    emu: OpenRouterEmulator, path: str, name: str, value: Any, words: list[str]
) -> None:
    with pytest.raises(
        (ValidationError, ValueError) if path == "model_kwargs" else ValidationError
    ) as caught:
        PATHS[path](emu, name, value)
    message = str(caught.value)
    for word in words:
        if path == "model_kwargs" and word.startswith(name):
            word = f"model_kwargs[{name!r}]" + word[len(name) :]
        elif path != "model_kwargs":
            # a pydantic ValidationError, as the constructor raises: the field and the value
            # are on two lines
            word = word.split("=", 1)[0]
        assert word in message, (word, message)
    assert emu.requests == [], "nothing may be sent, not even the catalog request"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [s for s in BAD_SETTINGS if s[0] in ROUTING],
    ids=[s[0] for s in BAD_SETTINGS if s[0] in ROUTING],
)
def test_a_bad_routing_setting_is_refused_in_a_profile(
    emu: OpenRouterEmulator, name: str, value: Any, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        make(emu, profiles={"p": {name: value}})
    assert words[0].split("=", 1)[0].split(".")[-1] in str(caught.value)
    assert emu.requests == []


def test_the_paths_cover_every_setting() -> None:
    """A new setting needs its bad values here (see the settings module docstring)."""
    tested = {name for name, _value, _words in BAD_SETTINGS}
    untestable = {"seed", "logprobs", "stop", "top_k", "top_p", "min_p", "top_a"}
    sampling = {
        "frequency_penalty", "presence_penalty", "repetition_penalty", "max_completion_tokens",
    }  # fmt: skip
    assert SETTING_NAMES - tested - untestable - sampling == set()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"temprature": 0.2}, ["temprature", "did you mean temperature?"]),
        ({"reasoning_efort": "low"}, ["reasoning_efort", "did you mean reasoning_effort?"]),
        ({"stream": True}, ["stream", "set by ChatOpenRouter itself"]),
        ({"model": ""}, ["model=''", "non-empty string"]),
        ({"model": "   "}, ["model='   '", "non-empty string"]),
        ({"plugins": {1, 2}}, ["plugins", "cannot be sent as JSON"]),
        ({"reasoning": {"effort": "extreme"}}, ["reasoning_effort", "'minimal'"]),
        ({"reasoning": {"effort": "low", "budget": 3}}, ["reasoning['budget']", "exclude (bool)"]),
        ({"reasoning": "high"}, ["reasoning='high'", "reasoning_effort=..."]),
        ({"max_tokens": 10, "max_completion_tokens": 10}, ["same cap", "set one of them"]),
        ({"reasoning_effort": "low", "reasoning_max_tokens": 10}, ["mutually exclusive"]),
    ],
)
@pytest.mark.parametrize("path", ["bind", "invoke"])
def test_bad_call_arguments_are_refused_before_any_request(
    emu: OpenRouterEmulator, path: str, kwargs: dict[str, Any], words: list[str]
) -> None:
    llm = make(emu)
    with pytest.raises(ValueError) as caught:
        if path == "bind":
            llm.bind(**kwargs)
        else:
            llm.invoke("hi", **kwargs)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert emu.requests == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"model_kwargs": {"temprature": 0.2}}, ["model_kwargs['temprature']", "temperature?"]),
        ({"temprature": 0.2}, ["model_kwargs['temprature']", "did you mean temperature?"]),
        ({"model_kwargs": {"model": "x/y"}}, ["model_kwargs['model']", "ChatOpenRouter(model="]),
        ({"model_kwargs": {"timeout": 3}}, ["model_kwargs['timeout']", "ChatOpenRouter(timeout="]),
        ({"temperature": 0.1, "model_kwargs": {"temperature": 0.2}}, ["give it once"]),
        ({"request_metadata": {"a": "b"}, "model_kwargs": {"metadata": {}}}, ["give it once"]),
        ({"model": "   "}, ["model", "non-empty string"]),
        ({"model": " openai/gpt-4o"}, ["model", "surrounding spaces"]),
    ],
)
def test_bad_constructor_input_names_the_argument(
    emu: OpenRouterEmulator, kwargs: dict[str, Any], words: list[str]
) -> None:
    options = {"model": SONNET, "api_key": KEY, "base_url": emu.url, **kwargs}
    with pytest.raises(ValueError) as caught:
        ChatOpenRouter(**options)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert emu.requests == []


# --------------------------------------------------------------------------------------------
# one meaning on every path: the same body


GOOD: dict[str, Any] = {
    "temperature": 0.3,
    "max_tokens": 64,
    "stop": ["END"],
    "user": "user-42",
    "session_id": "conversation-7",
    "trace": {"trace_id": "t-1", "span_name": "plan", "team": "search"},
    "verbosity": "low",
    "models": [GPT],
    "reasoning_max_tokens": 2048,
    "provider": {"sort": {"by": "latency", "partition": "none"}, "exclude": ["Azure"]},
}
GOOD_WIRE: dict[str, Any] = {
    "temperature": 0.3,
    "max_tokens": 64,
    "stop": ["END"],
    "user": "user-42",
    "session_id": "conversation-7",
    "trace": {"trace_id": "t-1", "span_name": "plan", "team": "search"},
    "verbosity": "low",
    "models": [GPT],
    "reasoning": {"max_tokens": 2048},
    "provider": {"sort": {"by": "latency", "partition": "none"}, "ignore": ["Azure"]},
}


@pytest.mark.parametrize(
    "path", ["constructor", "model_kwargs", "bind", "invoke", "profile", "configurable"]
)
def test_every_path_sends_the_same_body(emu: OpenRouterEmulator, path: str) -> None:
    routing = {k: v for k, v in GOOD.items() if k in ROUTING}
    rest = {k: v for k, v in GOOD.items() if k not in ROUTING}
    if path == "constructor":
        make(emu, **GOOD).invoke("hi")
    elif path == "model_kwargs":
        make(emu, model_kwargs=GOOD).invoke("hi")
    elif path == "bind":
        make(emu).bind(**GOOD).invoke("hi")
    elif path == "invoke":
        make(emu).invoke("hi", **GOOD)
    elif path == "profile":
        make(emu, profiles={"p": routing}, default_profile="p", **rest).invoke("hi")
    else:
        fields = {name: ConfigurableField(id=name) for name in GOOD}
        make(emu).configurable_fields(**fields).invoke("hi", config={"configurable": GOOD})
    body = last_body(emu)
    sent = {k: body[k] for k in GOOD_WIRE if k in body}
    assert sent == GOOD_WIRE
    assert json.dumps(body).count('"exclude"') == 0


EXTRA_BODY = {"provider": {"exclude": ["Azure"]}, "temperature": 0.3, "plugins": []}


@pytest.mark.parametrize("path", ["constructor", "model_kwargs", "bind", "invoke"])
def test_extra_body_is_read_as_its_keys(emu: OpenRouterEmulator, path: str) -> None:
    """``extra_body={...}``, the ChatOpenAI habit: its keys take the one path, never sent
    nested (OpenRouter would not read a nested ``extra_body``)."""
    if path == "constructor":
        make(emu, extra_body=EXTRA_BODY).invoke("hi")
    elif path == "model_kwargs":
        make(emu, model_kwargs={"extra_body": EXTRA_BODY}).invoke("hi")
    elif path == "bind":
        make(emu).bind(extra_body=EXTRA_BODY).invoke("hi")
    else:
        make(emu).invoke("hi", extra_body=EXTRA_BODY)
    body = last_body(emu)
    assert "extra_body" not in body
    assert body["provider"] == {"ignore": ["Azure"]}
    assert body["temperature"] == 0.3 and body["plugins"] == []


@pytest.mark.parametrize("path", ["constructor", "model_kwargs", "bind", "invoke"])
@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"provider": {"sort": "cheapest"}}, ["sort='cheapest'", "'price'"]),
        ({"temprature": 0.2}, ["extra_body", "['temprature']", "did you mean temperature?"]),
        ("provider=x", ["extra_body", "='provider=x'", "a dict of request-body keys"]),
    ],
)
def test_a_bad_extra_body_is_refused_on_every_path(
    emu: OpenRouterEmulator, path: str, extra: Any, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        if path == "constructor":
            make(emu, extra_body=extra)
        elif path == "model_kwargs":
            make(emu, model_kwargs={"extra_body": extra})
        elif path == "bind":
            make(emu).bind(extra_body=extra)
        else:
            make(emu).invoke("hi", extra_body=extra)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert emu.requests == []


def test_extra_body_and_a_direct_setting_are_one_setting(emu: OpenRouterEmulator) -> None:
    with pytest.raises(ValueError, match="given twice"):
        make(emu).invoke("hi", temperature=0.1, extra_body={"temperature": 0.2})
    with pytest.raises(ValueError, match="give it once"):
        make(emu, temperature=0.1, extra_body={"temperature": 0.2})
    assert emu.requests == []


def test_model_kwargs_settings_land_on_their_fields(emu: OpenRouterEmulator) -> None:
    llm = make(
        emu,
        model_kwargs={"provider": {"only": ["anthropic"]}, "metadata": {"a": "b"}, "plugins": []},
    )
    assert llm.provider == ProviderPreferences(only=["anthropic"])
    assert llm.request_metadata == {"a": "b"}
    assert llm.model_kwargs == {"plugins": []}
    llm.invoke("hi")
    body = last_body(emu)
    assert body["provider"] == {"only": ["anthropic"]}
    assert body["metadata"] == {"a": "b"} and body["plugins"] == []


def test_request_metadata_goes_out_as_metadata(emu: OpenRouterEmulator) -> None:
    make(emu, request_metadata={"tenant": "acme"}).invoke("hi")
    assert last_body(emu)["metadata"] == {"tenant": "acme"}
    make(emu).bind(request_metadata={"tenant": "b"}).invoke("hi")
    assert last_body(emu)["metadata"] == {"tenant": "b"}
    make(emu).invoke("hi", request_metadata={"tenant": "c"})
    assert last_body(emu)["metadata"] == {"tenant": "c"}


def test_langchain_metadata_is_tracing_only_and_never_sent(emu: OpenRouterEmulator) -> None:
    """``metadata`` is LangChain's own field (LangSmith tags): it stays out of the request."""
    llm = make(emu, metadata={"team": "search"}, request_metadata={"tenant": "acme"})
    assert (llm.metadata or {})["team"] == "search"
    llm.with_config(metadata={"run": "7"}).invoke("hi")
    assert last_body(emu)["metadata"] == {"tenant": "acme"}


def test_bind_metadata_is_refused_with_the_name_to_use(emu: OpenRouterEmulator) -> None:
    # invoke() passes LangChain's metadata on under that name: a bound one could never work
    with pytest.raises(ValueError) as caught:
        make(emu).bind(metadata={"tenant": "acme"})
    message = str(caught.value)
    assert "bind argument metadata" in message and "request_metadata={...}" in message
    assert ".with_config(metadata=" in message
    assert emu.requests == []


def test_the_reasoning_wire_spelling_is_read_as_the_typed_settings(
    emu: OpenRouterEmulator,
) -> None:
    llm = make(emu, reasoning_effort="high")
    llm.invoke("hi", reasoning={"max_tokens": 512, "exclude": True})
    assert last_body(emu)["reasoning"] == {"max_tokens": 512, "exclude": True}


# --------------------------------------------------------------------------------------------
# how a call combines with the active profile (docs/routing.md)

PROFILE = {
    "models": [GPT],
    "reasoning_effort": "high",
    "provider": {"sort": "price", "only": ["anthropic", "amazon-bedrock"], "max_price": {
        "prompt": 5, "completion": 20}},
}  # fmt: skip


@pytest.fixture
def profiled(emu: OpenRouterEmulator) -> ChatOpenRouter:
    return make(emu, profiles={"p": PROFILE}, default_profile="p", temperature=0.5)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        pytest.param(
            {"provider": ProviderPreferences(exclude=["Azure"])},
            {"sort": "price", "only": ["anthropic", "amazon-bedrock"], "ignore": ["Azure"],
             "max_price": {"prompt": 5.0, "completion": 20.0}},
            id="exclude-keeps-sort",
        ),
        pytest.param(
            {"provider": {"only": ["anthropic"]}},
            {"sort": "price", "only": ["anthropic"],
             "max_price": {"prompt": 5.0, "completion": 20.0}},
            id="a-list-is-replaced",
        ),
        pytest.param(
            {"provider": {"sort": None, "max_price": {"completion": None, "request": 0.01}}},
            {"only": ["anthropic", "amazon-bedrock"],
             "max_price": {"prompt": 5.0, "request": 0.01}},
            id="none-removes-prices-merge",
        ),
        pytest.param(
            {"provider": {"max_completion_price": 18}},  # Sonnet 4: 15 USD per million
            {"sort": "price", "only": ["anthropic", "amazon-bedrock"],
             "max_price": {"prompt": 5.0, "completion": 18.0}},
            id="shorthand-is-max_price",
        ),
        pytest.param({"provider": None}, None, id="none-removes-provider"),
    ],
)  # fmt: skip
def test_a_call_provider_combines_with_the_profile_key_by_key(
    emu: OpenRouterEmulator,
    profiled: ChatOpenRouter,
    call: dict[str, Any],
    expected: dict[str, Any] | None,
) -> None:
    profiled.invoke("hi", **call)
    assert last_body(emu).get("provider") == expected


def test_a_call_replaces_reasoning_as_one_setting(
    emu: OpenRouterEmulator, profiled: ChatOpenRouter
) -> None:
    profiled.invoke("hi", reasoning_max_tokens=1024)
    body = last_body(emu)
    assert body["reasoning"] == {"max_tokens": 1024}
    assert "reasoning_max_tokens" not in body
    profiled.invoke("hi", reasoning_effort=None)
    assert "reasoning" not in last_body(emu)


def test_a_call_replaces_scalars_and_fallbacks(
    emu: OpenRouterEmulator, profiled: ChatOpenRouter
) -> None:
    profiled.invoke("hi", temperature=0.1, models=["google/gemini-2.5-flash"])
    body = last_body(emu)
    assert body["temperature"] == 0.1 and body["models"] == ["google/gemini-2.5-flash"]
    profiled.invoke("hi", temperature=None, models=None)
    body = last_body(emu)
    assert "temperature" not in body and "models" not in body
    profiled.invoke("hi")
    assert last_body(emu)["temperature"] == 0.5  # the model itself is unchanged


def test_a_call_that_contradicts_the_profile_is_refused(
    emu: OpenRouterEmulator, profiled: ChatOpenRouter
) -> None:
    with pytest.raises(ValueError, match=r"combined with the model's.*only and exclude"):
        profiled.invoke("hi", provider={"exclude": ["Anthropic"]})
    assert emu.chat_requests() == []


def test_a_call_is_checked_against_the_catalog_too(
    emu: OpenRouterEmulator, profiled: ChatOpenRouter
) -> None:
    with pytest.raises(ValueError, match="'openai/gpt-4o' does not support reasoning"):
        profiled.invoke("hi", model="openai/gpt-4o")  # the profile's reasoning_effort="high"
    with pytest.raises(ValueError, match=r"models\[0\]='openai/gpt-4oo'"):
        profiled.invoke("hi", models=["openai/gpt-4oo"])
    assert emu.chat_requests() == []


def test_bound_and_call_arguments_are_one_layer(
    emu: OpenRouterEmulator, profiled: ChatOpenRouter
) -> None:
    """LangChain merges bind and call kwargs first (the call's provider replaces the bound
    one); that layer then combines with the profile key by key."""
    bound = profiled.bind(provider={"exclude": ["Azure"]}, temperature=0.2)
    bound.invoke("hi", provider={"order": ["anthropic"]})
    provider = last_body(emu)["provider"]
    assert provider["order"] == ["anthropic"] and "ignore" not in provider
    assert provider["sort"] == "price"
    assert last_body(emu)["temperature"] == 0.2


def test_combine_is_pure_and_keeps_the_base() -> None:
    base = read_call({"temperature": 0.5, "provider": {"sort": "price"}}).settings
    call = read_call({"provider": {"exclude": ["x"]}}).settings
    combined = combine(base, call)
    assert combined.provider == ProviderPreferences(sort="price", exclude=["x"])
    assert base.provider == ProviderPreferences(sort="price")
    assert combined.temperature == 0.5


def test_flat_settings_are_the_default_profile(emu: OpenRouterEmulator) -> None:
    llm = make(emu, provider={"sort": "price"}, reasoning_effort="low")
    assert llm.active_profile == Profile(provider={"sort": "price"}, reasoning_effort="low")
    llm.invoke("hi", provider={"zdr": True})
    assert last_body(emu)["provider"] == {"sort": "price", "zdr": True}


def test_a_call_error_pydantic_cannot_rebuild_by_name_keeps_its_message() -> None:
    """``sequence_str`` (a string for a list) is one of the error types pydantic-core cannot
    rebuild by name: the call's ValidationError keeps it, instead of a KeyError."""
    from collections.abc import Sequence

    from pydantic import BaseModel

    from langchain_openrouter_fenic.settings.reading import _rebuilt

    class Names(BaseModel):
        names: Sequence[str]

    with pytest.raises(ValidationError) as original:
        Names.model_validate({"names": "abc"})
    assert original.value.errors()[0]["type"] == "sequence_str"
    rebuilt = _rebuilt("ChatOpenRouter call arguments", original.value)
    assert rebuilt.title == "ChatOpenRouter call arguments"
    (error,) = rebuilt.errors()
    assert error["type"] == "sequence_str" and error["loc"] == ("names",)
    assert error["msg"] == original.value.errors()[0]["msg"]
