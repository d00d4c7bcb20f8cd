"""Structured output: strict schemas, reply parsers, strategy choice, request pieces (pure)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_openrouter_fenic._structured_schema import (
    accepts_null,
    drop_injected_nulls,
    normalize_schema,
    sanitize_schema_name,
    to_strict_json_schema,
)
from langchain_openrouter_fenic.structured_output import (
    forced_tool_request,
    json_mode_request,
    parse_json_reply,
    parse_tool_reply,
    response_format_request,
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
