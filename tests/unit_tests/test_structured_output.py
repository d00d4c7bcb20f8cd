"""Structured output: strict schemas, reply parsers, strategy choice, request pieces (pure)."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Optional

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_openrouter_fenic.structured_output import (
    forced_tool_request,
    json_mode_request,
    parse_json_reply,
    parse_tool_reply,
    response_format_request,
)
from langchain_openrouter_fenic.structured_output.schema import (
    accepts_null,
    drop_injected_nulls,
    normalize_schema,
    sanitize_schema_name,
    to_strict_json_schema,
)

# --------------------------------------------------------------------------------------------
# schemas used throughout


class Address(BaseModel):
    street: str
    postcode: Optional[str] = None  # noqa: UP045 - the Optional spelling on purpose
    floor: int = 0


class Person(BaseModel):
    """A person and where they live."""

    name: str = Field(description="full name")
    age: int | None = None
    addresses: list[Address]
    home: Address = Field(description="main address")


class TreeNode(BaseModel):
    label: str
    children: list[TreeNode] = []
    parent: TreeNode | None = Field(None, description="the parent node")


class JokeDict(TypedDict):
    """Joke to tell user."""

    setup: Annotated[str, ..., "question to set up a joke"]
    punchline: Annotated[str, ..., "answer to resolve the joke"]


JOKE_JSON_SCHEMA: dict[str, Any] = {
    "title": "Joke",
    "description": "Joke to tell user.",
    "type": "object",
    "properties": {
        "setup": {"type": "string"},
        "punchline": {"type": "string"},
        "rating": {"type": "integer"},
    },
    "required": ["setup", "punchline"],
}


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema inside ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append(node)
        for key, value in node.items():
            if key == "properties":
                for sub in value.values():
                    found += _objects(sub)
            elif isinstance(value, (dict, list)):
                found += _objects(value)
    elif isinstance(node, list):
        for item in node:
            found += _objects(item)
    return found


# --------------------------------------------------------------------------------------------
# normalisation


def test_pydantic_schema_keeps_defs_and_name() -> None:
    out = normalize_schema(Person)
    assert out.name == "Person"
    assert out.description == "A person and where they live."
    assert out.pydantic_class is Person
    assert "Address" in out.json_schema["$defs"]


def test_typeddict_schema_is_a_dict_result() -> None:
    out = normalize_schema(JokeDict)
    assert (out.name, out.pydantic_class) == ("JokeDict", None)
    assert out.json_schema["required"] == ["setup", "punchline"]


@pytest.mark.parametrize(
    "schema",
    [
        JOKE_JSON_SCHEMA,
        {"name": "Joke", "parameters": {k: v for k, v in JOKE_JSON_SCHEMA.items() if k != "title"}},
        {"type": "function", "function": {"name": "Joke", "parameters": JOKE_JSON_SCHEMA}},
    ],
    ids=["json-schema", "openai-function", "openai-tool"],
)
def test_dict_schemas(schema: dict[str, Any]) -> None:
    out = normalize_schema(schema)
    assert out.name == "Joke"
    assert out.pydantic_class is None
    assert set(out.json_schema["properties"]) == {"setup", "punchline", "rating"}


def test_unusable_dict_schema_names_the_keys() -> None:
    with pytest.raises(ValueError, match="none of 'type', 'properties'"):
        normalize_schema({"foo": 1})


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Person", "Person"),
        ("my schema: v2!", "my_schema_v2"),
        ("", "output"),
        (None, "output"),
        ("x" * 80, "x" * 64),
        ("Ünïcode name", "n_code_name"),
    ],
)
def test_sanitize_schema_name(title: str | None, expected: str) -> None:
    assert sanitize_schema_name(title) == expected


# --------------------------------------------------------------------------------------------
# strict conversion


def test_strict_closes_every_object_and_requires_every_property() -> None:
    strict = to_strict_json_schema(normalize_schema(Person).json_schema)
    objects = _objects(strict)
    assert len(objects) >= 3  # Person, $defs.Address, the inlined home Address
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert "default" not in json.dumps(strict)


def test_strict_makes_optional_fields_nullable_only_when_they_were_not() -> None:
    strict = to_strict_json_schema(normalize_schema(Person).json_schema)
    address = strict["$defs"]["Address"]["properties"]
    assert address["floor"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    assert address["postcode"]["anyOf"] == [{"type": "string"}, {"type": "null"}]  # unchanged
    assert strict["properties"]["name"] == {
        "description": "full name",
        "title": "Name",
        "type": "string",
    }


def test_strict_inlines_a_ref_with_siblings() -> None:
    strict = to_strict_json_schema(normalize_schema(Person).json_schema)
    home = strict["properties"]["home"]
    assert "$ref" not in home
    assert home["description"] == "main address"
    assert set(home["properties"]) == {"street", "postcode", "floor"}
    # an array of refs keeps the ref (no siblings): the $defs entry is strict itself
    assert strict["properties"]["addresses"]["items"] == {"$ref": "#/$defs/Address"}


def test_strict_terminates_on_recursive_models() -> None:
    strict = to_strict_json_schema(normalize_schema(TreeNode).json_schema)
    node = strict["$defs"]["TreeNode"] if "$defs" in strict else strict
    assert node["additionalProperties"] is False
    assert set(node["required"]) == {"label", "children", "parent"}
    assert "#/$defs/TreeNode" in json.dumps(strict)


def test_strict_reaches_arrays_anyof_and_defs_of_a_plain_dict() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"type": "object", "properties": {"a": {}}}},
            "either": {
                "anyOf": [
                    {"type": "object", "properties": {"b": {"type": "string"}}},
                    {"type": "string"},
                ]
            },
            "ref": {"$ref": "#/$defs/Thing"},
        },
        "$defs": {
            "Thing": {"type": "object", "properties": {"c": {"type": "number"}}, "required": ["c"]}
        },
    }
    strict = to_strict_json_schema(schema)
    assert len(_objects(strict)) == 4
    assert all(o["additionalProperties"] is False for o in _objects(strict))
    assert strict["properties"]["ref"] == {"anyOf": [{"$ref": "#/$defs/Thing"}, {"type": "null"}]}
    assert "additionalProperties" not in schema["$defs"]["Thing"]  # the input is not modified


def test_accepts_null_follows_refs_and_unions() -> None:
    root = {"$defs": {"N": {"type": "null"}, "S": {"type": "string"}}}
    assert accepts_null({"$ref": "#/$defs/N"}, root)
    assert not accepts_null({"$ref": "#/$defs/S"}, root)
    assert accepts_null({"type": ["string", "null"]}, root)
    assert accepts_null({"enum": ["a", None]}, root)
    assert not accepts_null({"type": "string"}, root)


def test_drop_injected_nulls_restores_defaults() -> None:
    reply = {
        "name": "Ada",
        "age": None,
        "addresses": [{"street": "x", "postcode": None, "floor": None}],
        "home": {"street": "y", "postcode": "N1", "floor": 3},
    }
    cleaned = drop_injected_nulls(reply, normalize_schema(Person).json_schema)
    assert cleaned["age"] is None  # nullable in the original: kept
    assert cleaned["addresses"] == [{"street": "x", "postcode": None}]  # floor: default applies
    assert Person.model_validate(cleaned).addresses[0].floor == 0


def test_drop_injected_nulls_on_typeddict_and_json_schema() -> None:
    reply = {"setup": "s", "punchline": "p", "rating": None}
    assert drop_injected_nulls(reply, JOKE_JSON_SCHEMA) == {"setup": "s", "punchline": "p"}


# --------------------------------------------------------------------------------------------
# request pieces


def test_response_format_request_shape() -> None:
    piece = response_format_request(normalize_schema(Person))
    spec = piece["response_format"]["json_schema"]
    assert piece["response_format"]["type"] == "json_schema"
    assert (spec["name"], spec["strict"]) == ("Person", True)
    assert spec["description"] == "A person and where they live."
    assert spec["schema"]["additionalProperties"] is False


def test_response_format_request_not_strict_sends_schema_as_given() -> None:
    piece = response_format_request(normalize_schema(JOKE_JSON_SCHEMA), strict=False)
    spec = piece["response_format"]["json_schema"]
    assert spec["strict"] is False
    assert spec["schema"] == JOKE_JSON_SCHEMA


def test_forced_tool_request_shape() -> None:
    piece = forced_tool_request(normalize_schema(JokeDict))
    (tool,) = piece["tools"]
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "JokeDict"
    assert tool["function"]["strict"] is True
    assert tool["function"]["parameters"]["additionalProperties"] is False
    assert piece["tool_choice"] == {"type": "function", "function": {"name": "JokeDict"}}
    assert piece["parallel_tool_calls"] is False


def test_json_mode_request() -> None:
    assert json_mode_request() == {"response_format": {"type": "json_object"}}


# --------------------------------------------------------------------------------------------
# parsers


def _reply(content: Any = "", *, provider: str | None = "DeepInfra", **kw: Any) -> AIMessage:
    meta = {"provider": provider, "model_name": "m/x"} if provider else {}
    return AIMessage(content=content, response_metadata=meta, **kw)


def _call(name: str, args: dict[str, Any], call_id: str = "c1") -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


GOOD_PERSON = {"name": "Ada", "age": 36, "addresses": [], "home": {"street": "x"}}


def test_json_reply_good_pydantic() -> None:
    parsed = parse_json_reply(_reply(json.dumps(GOOD_PERSON)), normalize_schema(Person))
    assert isinstance(parsed, Person)
    assert parsed.home.street == "x"


def test_json_reply_good_dict_and_fenced() -> None:
    text = '```json\n{"setup": "s", "punchline": "p"}\n```'
    assert parse_json_reply(_reply(text), normalize_schema(JokeDict)) == {
        "setup": "s",
        "punchline": "p",
    }


def test_json_reply_list_content_blocks() -> None:
    blocks = [
        {"type": "text", "text": '{"setup": "s", '},
        {"type": "text", "text": '"punchline": "p"}'},
    ]
    assert parse_json_reply(_reply(blocks), normalize_schema(JokeDict))["punchline"] == "p"


def test_json_reply_malformed_names_raw_text_and_provider() -> None:
    with pytest.raises(OutputParserException) as info:
        parse_json_reply(_reply('{"setup": "s", '), normalize_schema(JokeDict))
    message = str(info.value)
    assert '{"setup": "s", ' in message
    assert "DeepInfra" in message
    assert 'ProviderPreferences(exclude=["DeepInfra"])' in message
    assert info.value.llm_output == '{"setup": "s", '


def test_json_reply_truncated_inside_a_fence_is_not_a_partial_object() -> None:
    with pytest.raises(OutputParserException, match="not valid JSON"):
        parse_json_reply(_reply('```json\n{"setup": "s"\n```'), normalize_schema(JokeDict))


def test_json_reply_empty() -> None:
    with pytest.raises(OutputParserException, match=r"empty reply.*Novita"):
        parse_json_reply(_reply("  ", provider="Novita"), normalize_schema(JokeDict))


def test_json_reply_schema_mismatch_is_a_parsing_error() -> None:
    with pytest.raises(OutputParserException, match="does not match Person"):
        parse_json_reply(_reply('{"name": "Ada"}'), normalize_schema(Person))


def test_json_reply_without_provider_still_advises() -> None:
    with pytest.raises(OutputParserException, match=r"unnamed provider.*exclude"):
        parse_json_reply(_reply("nope", provider=None), normalize_schema(JokeDict))


@pytest.mark.parametrize(
    "message",
    [
        _reply("", additional_kwargs={"refusal": "I can't help with that."}),
        _reply([{"type": "refusal", "refusal": "I can't help with that."}]),
    ],
    ids=["additional_kwargs", "content-block"],
)
def test_refusal_surfaces(message: AIMessage) -> None:
    with pytest.raises(OutputParserException, match=r"refused.*I can't help with that"):
        parse_json_reply(message, normalize_schema(JokeDict))
    with pytest.raises(OutputParserException, match="refused"):
        parse_tool_reply(message, normalize_schema(JokeDict))


def test_content_filter_surfaces() -> None:
    message = AIMessage(content="", response_metadata={"finish_reason": "content_filter"})
    with pytest.raises(OutputParserException, match="content filter"):
        parse_json_reply(message, normalize_schema(JokeDict))


def test_json_mode_without_schema_returns_json() -> None:
    assert parse_json_reply(_reply("[1, 2]"), None) == [1, 2]


def test_tool_reply_exactly_one_call() -> None:
    message = _reply(tool_calls=[_call("Person", GOOD_PERSON)])
    assert parse_tool_reply(message, normalize_schema(Person)).name == "Ada"


def test_tool_reply_dict_result_drops_injected_nulls() -> None:
    args = {"setup": "s", "punchline": "p", "rating": None}
    message = _reply(tool_calls=[_call("Joke", args)])
    assert parse_tool_reply(message, normalize_schema(JOKE_JSON_SCHEMA)) == {
        "setup": "s",
        "punchline": "p",
    }


@pytest.mark.parametrize(
    ("message", "match"),
    [
        (_reply("Here is a joke: ..."), "is text, not a call of the tool 'Joke'"),
        (_reply(""), "has no text and no call"),
        (
            _reply(
                tool_calls=[
                    _call("Joke", {"setup": "a", "punchline": "b"}),
                    _call("Joke", {"setup": "c", "punchline": "d"}, "c2"),
                ]
            ),
            "expected ONE call of 'Joke', got 2",
        ),
        (_reply(tool_calls=[_call("weather", {"city": "x"})]), "called 'weather', not 'Joke'"),
        (
            _reply(
                invalid_tool_calls=[
                    {
                        "name": "Joke",
                        "args": '{"setup": ',
                        "id": "c1",
                        "error": "bad json",
                        "type": "invalid_tool_call",
                    }
                ]
            ),
            "not valid JSON",
        ),
    ],
    ids=["text-only", "empty", "two-calls", "wrong-tool", "invalid-args"],
)
def test_tool_reply_anything_but_one_good_call_is_an_error(message: AIMessage, match: str) -> None:
    schema = normalize_schema(JOKE_JSON_SCHEMA)
    with pytest.raises(OutputParserException, match=match) as info:
        parse_tool_reply(message, schema)
    assert "DeepInfra" in str(info.value)


def test_tool_reply_wrong_args_pydantic() -> None:
    message = _reply(tool_calls=[_call("Person", {"name": "Ada"})])
    with pytest.raises(OutputParserException, match="does not match Person"):
        parse_tool_reply(message, normalize_schema(Person))


# --------------------------------------------------------------------------------------------
# end to end against the loopback emulator: request on the wire, result out

from langchain_core.callbacks import BaseCallbackHandler  # noqa: E402
from langchain_core.utils.function_calling import convert_to_json_schema  # noqa: E402

from langchain_openrouter_fenic import (  # noqa: E402
    ChatOpenRouter,
    NoEndpointsError,
    ProviderPreferences,
    StructuredOutputUnsupportedError,
)
from tests.support.emulator import OpenRouterEmulator, Reply  # noqa: E402

JSON_SCHEMA_MODEL = "openai/gpt-4o-mini"  # lists structured_outputs, tools, tool_choice
TOOLS_MODEL = "deepseek/deepseek-chat"  # lists tools + tool_choice + response_format only
STRUCTURED_ONLY_MODEL = "cohere/command-a"  # structured_outputs, no tools+tool_choice
PROMPT = 'Tell me a joke about cats. Answer as JSON with keys "setup" and "punchline".'


class Joke(BaseModel):
    """Joke to tell user."""

    setup: str = Field(description="question to set up a joke")
    punchline: str = Field(description="answer to resolve the joke")
    rating: int | None = None


JOKE_SCHEMAS: dict[str, Any] = {
    "pydantic": Joke,
    "typeddict": JokeDict,
    "json_schema": Joke.model_json_schema(),
}


def _check_joke(result: Any, kind: str) -> None:
    if kind == "pydantic":
        assert isinstance(result, Joke)
        assert result.setup and result.punchline
    else:
        assert isinstance(result, dict)
        assert {"setup", "punchline"} <= set(result)
        assert all(isinstance(result[k], str) and result[k] for k in ("setup", "punchline"))


@pytest.fixture(scope="module")
def _shared_emulator() -> Any:
    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def emu(_shared_emulator: Any) -> Any:
    """One emulator per module (its catalog is loaded once); requests and scripts reset per test."""
    _shared_emulator.reset()
    return _shared_emulator


@pytest.fixture
def fresh_emu() -> Any:
    """An emulator of its own: a catalog with nothing cached yet (endpoints included)."""
    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


def _llm(emu: Any, model: str, **kw: Any) -> ChatOpenRouter:
    return ChatOpenRouter(model=model, api_key="sk-test", base_url=emu.url, max_retries=0, **kw)


# (model, method passed, method expected on the wire)
STRATEGIES = [
    (JSON_SCHEMA_MODEL, None, "json_schema"),
    (TOOLS_MODEL, None, "function_calling"),
    (TOOLS_MODEL, "json_mode", "json_mode"),
]


def _assert_wire(body: dict[str, Any], method: str, name: str) -> None:
    if method == "json_schema":
        spec = body["response_format"]["json_schema"]
        assert (body["response_format"]["type"], spec["name"], spec["strict"]) == (
            "json_schema", name, True,
        )  # fmt: skip
        assert spec["schema"]["additionalProperties"] is False
        assert "tools" not in body
    elif method == "function_calling":
        assert [t["function"]["name"] for t in body["tools"]] == [name]
        assert body["tool_choice"] == {"type": "function", "function": {"name": name}}
        # neither model lists parallel_tool_calls: with require_parameters it is never sent
        assert "parallel_tool_calls" not in body
        assert "response_format" not in body
    else:
        assert body["response_format"] == {"type": "json_object"}
    assert body["provider"]["require_parameters"] is True
    assert "ls_structured_output_format" not in body


@pytest.mark.parametrize("include_raw", [False, True], ids=["parsed", "include_raw"])
@pytest.mark.parametrize("kind", list(JOKE_SCHEMAS))
@pytest.mark.parametrize(("model", "method", "wire"), STRATEGIES, ids=[s[2] for s in STRATEGIES])
def test_invoke_each_strategy_and_schema_kind(
    emu: Any, model: str, method: Any, wire: str, kind: str, include_raw: bool
) -> None:
    schema = JOKE_SCHEMAS[kind]
    structured = _llm(emu, model).with_structured_output(
        schema, method=method, include_raw=include_raw
    )
    result = structured.invoke(PROMPT)
    if include_raw:
        assert set(result) == {"raw", "parsed", "parsing_error"}
        assert result["parsing_error"] is None
        assert result["raw"].response_metadata["provider"]
        _check_joke(result["parsed"], kind)
    else:
        _check_joke(result, kind)
    (request,) = emu.chat_requests()
    _assert_wire(request.json, wire, "Joke" if kind != "typeddict" else "JokeDict")


async def test_ainvoke_and_stream(emu: Any) -> None:
    structured = _llm(emu, TOOLS_MODEL).with_structured_output(Joke)
    assert isinstance(await structured.ainvoke(PROMPT), Joke)
    chunks = list(structured.stream(PROMPT))
    assert chunks and all(isinstance(c, Joke) for c in chunks)
    assert len(emu.chat_requests()) == 2


class _Options(BaseCallbackHandler):
    def __init__(self) -> None:
        self.options: list[Any] = []

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.options.append(kwargs.get("options"))


@pytest.mark.parametrize("kind", list(JOKE_SCHEMAS))
def test_tracing_gets_the_schema_like_langchain_openai(emu: Any, kind: str) -> None:
    handler = _Options()
    schema = JOKE_SCHEMAS[kind]
    _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(schema).invoke(
        PROMPT, config={"callbacks": [handler]}
    )
    (options,) = handler.options
    traced = options["ls_structured_output_format"]
    assert traced["schema"] == convert_to_json_schema(schema)
    assert traced["kwargs"] == {"method": "json_schema", "strict": True}


def test_profile_prefer_tools_uses_a_forced_tool_without_an_endpoints_call(emu: Any) -> None:
    llm = _llm(emu, JSON_SCHEMA_MODEL, structured_output_strategy="prefer_tools")
    assert isinstance(llm.with_structured_output(Joke).invoke(PROMPT), Joke)
    _assert_wire(emu.chat_requests()[0].json, "function_calling", "Joke")
    assert emu.count("/endpoints") == 0


# -- endpoint-aware choice through the HTTP boundary ------------------------------------------

_TOOLS = ["max_tokens", "tools", "tool_choice", "response_format"]


def _endpoint_record(provider: str, params: list[str]) -> dict[str, Any]:
    return {"provider_name": provider, "tag": provider.lower(), "supported_parameters": params,
            "pricing": {"prompt": "0.00000015", "completion": "0.0000006"}}  # fmt: skip


@pytest.fixture
def emu_minority() -> Any:
    """gpt-4o-mini served by three providers; only "Acme" supports structured_outputs."""
    records = [
        _endpoint_record("Acme", [*_TOOLS, "structured_outputs"]),
        _endpoint_record("Beta", _TOOLS),
        _endpoint_record("Gamma", _TOOLS),
    ]
    server = OpenRouterEmulator(endpoints={JSON_SCHEMA_MODEL: records}).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("provider", "wire"),
    [
        (None, "function_calling"),  # 1/3 vs 3/3: forced tools reach more providers
        (ProviderPreferences(only=["acme"]), "json_schema"),
        (ProviderPreferences(exclude=["Acme"]), "function_calling"),
        (ProviderPreferences(only=["Acme", "beta"]), "function_calling"),  # 1/2 vs 2/2
    ],
    ids=["auto", "only-acme", "exclude-acme", "only-acme-beta"],
)
def test_endpoint_aware_choice_reaches_the_wire(
    emu_minority: Any, provider: Any, wire: str, caplog: pytest.LogCaptureFixture
) -> None:
    llm = _llm(emu_minority, JSON_SCHEMA_MODEL, provider=provider)
    with caplog.at_level(logging.INFO, logger="langchain_openrouter_fenic"):
        assert isinstance(llm.with_structured_output(Joke).invoke(PROMPT), Joke)
    _assert_wire(emu_minority.chat_requests()[0].json, wire, "Joke")
    assert emu_minority.count("/endpoints") == 1
    assert any(f"Structured output for {JSON_SCHEMA_MODEL}: {wire}" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_endpoints_failure_falls_back_to_the_model_rule(
    fresh_emu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_emu.set_get_reply("/endpoints", Reply.error(503, "endpoints are down"))
    with caplog.at_level(logging.WARNING, logger="langchain_openrouter_fenic"):
        _llm(fresh_emu, JSON_SCHEMA_MODEL).with_structured_output(Joke).invoke(PROMPT)
    assert fresh_emu.count("/endpoints") == 1
    _assert_wire(fresh_emu.chat_requests()[0].json, "json_schema", "Joke")
    assert any("endpoints are down" in r.getMessage() for r in caplog.records)


# -- recovery from 404 "No endpoints found ..." -------------------------------------------------


def test_no_endpoints_for_response_format_is_retried_once_with_a_forced_tool(
    emu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emu.enqueue(Reply.no_endpoints())
    with caplog.at_level(logging.WARNING, logger="langchain_openrouter_fenic"):
        result = _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(Joke).invoke(PROMPT)
    assert isinstance(result, Joke)
    first, second = emu.chat_requests()
    _assert_wire(first.json, "json_schema", "Joke")
    _assert_wire(second.json, "function_calling", "Joke")
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "retrying once with a forced tool call" in warning.getMessage()


def test_no_endpoints_twice_propagates_after_one_retry(emu: Any) -> None:
    emu.enqueue(Reply.no_endpoints(), Reply.no_endpoints())
    with pytest.raises(NoEndpointsError):
        _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(Joke, include_raw=True).invoke(PROMPT)
    assert len(emu.chat_requests()) == 2


def test_no_endpoints_without_tools_propagates(emu: Any) -> None:
    emu.enqueue(Reply.no_endpoints())
    with pytest.raises(NoEndpointsError, match="No endpoints found"):
        _llm(emu, STRUCTURED_ONLY_MODEL).with_structured_output(Joke).invoke(PROMPT)
    assert len(emu.chat_requests()) == 1


def test_forced_json_schema_is_not_silently_switched(emu: Any) -> None:
    emu.enqueue(Reply.no_endpoints())
    structured = _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(Joke, method="json_schema")
    with pytest.raises(NoEndpointsError):
        structured.invoke(PROMPT)
    assert len(emu.chat_requests()) == 1


# -- forced methods are checked against the catalog --------------------------------------------


@pytest.mark.parametrize(
    ("model", "method", "missing"),
    [
        (TOOLS_MODEL, "json_schema", "`structured_outputs`"),
        (STRUCTURED_ONLY_MODEL, "function_calling", "`tools`, `tool_choice`"),
        ("perplexity/sonar-pro-search", "json_mode", "`response_format`"),
    ],
)
def test_forcing_an_unlisted_method_fails_before_any_request(
    emu: Any, model: str, method: Any, missing: str
) -> None:
    with pytest.raises(StructuredOutputUnsupportedError) as caught:
        _llm(emu, model).with_structured_output(Joke, method=method)
    message = str(caught.value)
    assert model in message and f"does not list {missing}" in message
    assert "strict_capabilities=False" in message
    assert emu.chat_requests() == []


def test_strict_capabilities_false_sends_it_anyway_without_require_parameters(emu: Any) -> None:
    llm = _llm(emu, TOOLS_MODEL)
    result = llm.with_structured_output(
        Joke, method="json_schema", strict_capabilities=False
    ).invoke(PROMPT)
    assert isinstance(result, Joke)
    body = emu.chat_requests()[0].json
    assert body["response_format"]["type"] == "json_schema"
    assert "require_parameters" not in (body.get("provider") or {})


def test_strict_false_sends_the_schema_as_given(emu: Any) -> None:
    _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(JOKE_JSON_SCHEMA, strict=False).invoke(
        PROMPT
    )
    spec = emu.chat_requests()[0].json["response_format"]["json_schema"]
    assert (spec["strict"], spec["schema"]) == (False, JOKE_JSON_SCHEMA)


# -- bad replies end to end -------------------------------------------------------------------


def test_malformed_json_names_the_provider_and_include_raw_keeps_it(emu: Any) -> None:
    emu.enqueue(Reply.text('{"setup": "Why', provider="Novita"))
    structured = _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(Joke)
    with pytest.raises(OutputParserException) as caught:
        structured.invoke(PROMPT)
    assert "Novita" in str(caught.value) and '{"setup": "Why' in str(caught.value)
    assert 'ProviderPreferences(exclude=["Novita"])' in str(caught.value)

    emu.enqueue(Reply.text("", provider="Novita"))
    raw_result = (
        _llm(emu, JSON_SCHEMA_MODEL).with_structured_output(Joke, include_raw=True).invoke(PROMPT)
    )
    assert raw_result["parsed"] is None
    assert isinstance(raw_result["parsing_error"], OutputParserException)
    assert "empty reply" in str(raw_result["parsing_error"])
    assert raw_result["raw"].response_metadata["provider"] == "Novita"


def test_forced_tool_reply_with_two_calls_is_an_error(emu: Any) -> None:
    args = {"setup": "a", "punchline": "b"}
    emu.enqueue(Reply.tool_calls(("Joke", args), ("Joke", args), provider="Groq"))
    with pytest.raises(OutputParserException, match=r"ONE call of 'Joke', got 2.*Groq"):
        _llm(emu, TOOLS_MODEL).with_structured_output(Joke).invoke(PROMPT)


def test_forced_tool_reply_with_text_only_is_an_error_not_none_fields(emu: Any) -> None:
    emu.enqueue(Reply.text("Sure! Why did the cat...", provider="Groq"))
    result = _llm(emu, TOOLS_MODEL).with_structured_output(Joke, include_raw=True).invoke(PROMPT)
    assert result["parsed"] is None
    assert "is text, not a call of the tool 'Joke'" in str(result["parsing_error"])


def test_json_mode_without_schema(emu: Any) -> None:
    llm = _llm(emu, TOOLS_MODEL)
    result = llm.with_structured_output(None, method="json_mode").invoke(PROMPT)  # type: ignore[arg-type]
    assert isinstance(result, dict) and result
    with pytest.raises(ValueError, match="a schema is required"):
        llm.with_structured_output(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`strict` does not apply"):
        llm.with_structured_output(Joke, method="json_mode", strict=True)
    with pytest.raises(ValueError, match="unknown method 'json'"):
        llm.with_structured_output(Joke, method="json", strict_capabilities=False)  # type: ignore[arg-type]
    assert emu.chat_requests()[1:] == []  # only the json_mode call above was sent
