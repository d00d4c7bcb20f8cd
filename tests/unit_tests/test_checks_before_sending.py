"""Tools, messages and schemas are checked before anything is sent: each bad input raises with a
message naming it and the fix, on every path it can take, and the emulator counts zero chat
requests (zero requests at all where no catalog lookup is involved)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    FunctionMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.rate_limiters import BaseRateLimiter
from pydantic import BaseModel

from langchain_openrouter_fenic import ChatOpenRouter, ToolsUnsupportedError
from tests.support.emulator import OpenRouterEmulator

KEY = "sk-or-v1-checks-test"
MODEL = "openai/gpt-4o-mini"  # lists tools and tool_choice
NO_TOOLS = "alpindale/goliath-120b"  # its catalog entry lists no tools


class _Unlimited(BaseRateLimiter):
    def acquire(self, *, blocking: bool = True) -> bool:
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        return True


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


def make(emu: OpenRouterEmulator, model: str = MODEL, **kw: Any) -> ChatOpenRouter:
    return ChatOpenRouter(
        model=model, api_key=KEY, base_url=emu.url, max_retries=0, rate_limiter=_Unlimited(), **kw
    )


def _fn(name: str, parameters: Any = None, **extra: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name, **extra}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


OBJECT = {"type": "object", "properties": {"city": {"type": "string"}}}
GOOD = _fn("get_weather", OBJECT)

# (id, tools, tool_choice, words of the message)
BAD_TOOLS: list[tuple[str, list[Any], Any, list[str]]] = [
    ("no-parameters", [_fn("lookup")], None,
     ["tools[0] ('lookup').function.parameters: missing", '{"type": "object", "properties": {}}']),
    ("bad-name", [_fn("bad name!", OBJECT)], None,
     ["tools[0].function.name='bad name!'", "1 to 64 letters, digits"]),
    ("long-name", [_fn("n" * 80, OBJECT)], None, ["(80 characters)", "1 to 64"]),
    ("properties-not-a-dict", [_fn("f", {"type": "object", "properties": "oops"})], None,
     ["parameters.properties='oops'", "argument name -> JSON schema"]),
    ("array-parameters", [_fn("f", {"type": "array", "items": {"type": "string"}})], None,
     ["parameters.type='array'", "tool arguments are a JSON object"]),
    ("required-not-a-list", [_fn("f", {**OBJECT, "required": "city"})], None,
     ["parameters.required='city'", "list of property names"]),
    ("required-names-no-property", [_fn("f", {**OBJECT, "required": ["town"]})], None,
     ["parameters.required names ['town']", "not in its properties (['city'])"]),
    ("property-not-a-schema", [_fn("f", {"type": "object", "properties": {"city": "string"}})],
     None, ["parameters.properties['city']='string'", "{'type': 'string'}"]),
    ("description-not-a-string", [_fn("f", OBJECT, description=["weather"])], None,
     ["tools[0] ('f').function.description=['weather']", "a string is expected"]),
    ("unresolvable-ref", [_fn("f", {"type": "object",
                                    "properties": {"city": {"$ref": "#/$defs/City"}}})], None,
     ["tools[0] ('f').function.parameters: $ref '#/$defs/City' at #/properties/city", "'$defs'"]),
    ("duplicate-names", [GOOD, _fn("get_weather", OBJECT)], None,
     ["two tools are named 'get_weather'", "unique"]),
    ("unknown-tool-type", [{"type": "bogus"}], None, ["type='bogus'", "function tools"]),
    ("choice-names-unbound-tool", [GOOD], {"type": "function", "function": {"name": "get_time"}},
     ["names no bound tool", "['get_weather']"]),
    ("choice-bogus", [GOOD], {"type": "bogus"}, ["tool_choice={'type': 'bogus'}", "'auto'"]),
    ("required-without-tools", [], "required", ["tool_choice='required'", "no tools are bound"]),
    ("choice-word-unknown", [GOOD], "any", ["tool_choice='any'", "'required'"]),
]  # fmt: skip


def _tools_via_model_kwargs(emu: OpenRouterEmulator, tools: Any, choice: Any) -> None:
    extra = {"tools": tools} | ({"tool_choice": choice} if choice is not None else {})
    make(emu, model_kwargs=extra).invoke("What is the weather in Oslo?")


def _tools_via_bind(emu: OpenRouterEmulator, tools: Any, choice: Any) -> None:
    extra = {"tool_choice": choice} if choice is not None else {}
    make(emu).bind(tools=tools, **extra).invoke("What is the weather in Oslo?")


def _tools_via_bind_tools(emu: OpenRouterEmulator, tools: Any, choice: Any) -> None:
    make(emu).bind_tools(tools, tool_choice=choice).invoke("What is the weather in Oslo?")


def _tools_via_invoke(emu: OpenRouterEmulator, tools: Any, choice: Any) -> None:
    extra = {"tool_choice": choice} if choice is not None else {}
    make(emu).invoke("What is the weather in Oslo?", tools=tools, **extra)


def _tools_via_astream(emu: OpenRouterEmulator, tools: Any, choice: Any) -> None:
    extra = {"tool_choice": choice} if choice is not None else {}

    async def run() -> None:
        async for _chunk in make(emu).astream("weather?", tools=tools, **extra):
            pass

    asyncio.run(run())


TOOL_PATHS: dict[str, Callable[[OpenRouterEmulator, Any, Any], None]] = {
    "model_kwargs": _tools_via_model_kwargs,
    "bind": _tools_via_bind,
    "bind_tools": _tools_via_bind_tools,
    "invoke": _tools_via_invoke,
    "astream": _tools_via_astream,
}


# bind_tools reads "any" as LangChain's alias of "required" (tested below)
TOOL_CASES = [
    pytest.param(path, *case[1:], id=f"{case[0]}-{path}")
    for case in BAD_TOOLS
    for path in TOOL_PATHS
    if not (path == "bind_tools" and case[2] == "any")
]


@pytest.mark.parametrize(("path", "tools", "choice", "words"), TOOL_CASES)
def test_a_bad_tool_is_refused_on_every_path_before_any_request(
    emu: OpenRouterEmulator, path: str, tools: list[Any], choice: Any, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        TOOL_PATHS[path](emu, tools, choice)
    for word in words:
        if path == "model_kwargs":
            for key in ("tool_choice", "tools"):
                if word.startswith(key):
                    word = f"model_kwargs[{key!r}]" + word[len(key) :]
                    break
        assert word in str(caught.value), (word, str(caught.value))
    assert emu.chat_requests() == []
    if path != "bind_tools":  # bind_tools may read the catalog to check the model's support
        assert emu.requests == []


def test_bind_tools_any_is_required(emu: OpenRouterEmulator) -> None:
    make(emu).bind_tools([GOOD], tool_choice="any").invoke("weather in Oslo?")
    assert emu.chat_requests()[-1].json["tool_choice"] == "required"


def test_bind_tools_allows_a_duplicate_name_until_it_is_sent(emu: OpenRouterEmulator) -> None:
    """LangChain's standard suite binds a Pydantic class next to its own JSON schema."""
    bound = make(emu).bind_tools([GOOD, _fn("get_weather", OBJECT)])
    with pytest.raises(ValueError, match="two tools are named 'get_weather'"):
        bound.invoke("weather?")
    assert emu.chat_requests() == []


class Scores(BaseModel):
    """Scores per name."""

    title: str
    scores: dict[str, float]


class Search(BaseModel):
    """Search the web."""

    query: str
    limit: int | None = None


def test_bind_tools_strict_refuses_a_map_naming_the_field(emu: OpenRouterEmulator) -> None:
    """Strict mode would close ``dict[str, float]`` to ``{}``: refused, never emptied."""
    with pytest.raises(ValueError) as caught:
        make(emu).bind_tools([Scores], strict=True)
    message = str(caught.value)
    assert "bind_tools(strict=True): tool 'Scores': field 'scores' is a map" in message
    assert "strict=False" in message
    assert emu.chat_requests() == []
    make(emu).bind_tools([Scores]).invoke("Score 'a'.")  # not strict: the value schema is kept
    parameters = emu.chat_requests()[-1].json["tools"][0]["function"]["parameters"]
    assert parameters["properties"]["scores"]["additionalProperties"] == {"type": "number"}


def test_bind_tools_strict_sends_a_schema_strict_mode_accepts(emu: OpenRouterEmulator) -> None:
    """Every property required, the optional one nullable, objects closed."""
    make(emu).bind_tools([Search], strict=True).invoke("Search for news.")
    function = emu.chat_requests()[-1].json["tools"][0]["function"]
    parameters = function["parameters"]
    assert function["strict"] is True
    assert parameters["additionalProperties"] is False
    assert sorted(parameters["required"]) == ["limit", "query"]
    assert {"type": "null"} in parameters["properties"]["limit"]["anyOf"]


def test_server_tools_pass_through(emu: OpenRouterEmulator) -> None:
    make(emu).bind_tools([{"type": "openrouter:web_search"}, GOOD]).invoke("news?")
    assert emu.chat_requests()[-1].json["tools"][0] == {"type": "openrouter:web_search"}


@pytest.mark.parametrize("choice", [None, "auto", "required", "get_weather"])
def test_bind_tools_on_a_model_without_tools_fails_fast(
    emu: OpenRouterEmulator, choice: Any
) -> None:
    with pytest.raises(ToolsUnsupportedError) as caught:
        make(emu, model=NO_TOOLS).bind_tools([GOOD], tool_choice=choice)
    message = str(caught.value)
    assert NO_TOOLS in message and "does not list tools" in message
    assert "strict_capabilities=False" in message
    assert emu.chat_requests() == []


def test_strict_capabilities_false_sends_the_tools_anyway(emu: OpenRouterEmulator) -> None:
    make(emu, model=NO_TOOLS).bind_tools([GOOD], strict_capabilities=False).invoke("weather?")
    assert emu.chat_requests()[-1].json["tools"][0]["function"]["name"] == "get_weather"


def test_a_forced_choice_needs_tool_choice_in_the_catalog(emu: OpenRouterEmulator) -> None:
    model = _a_model_with_tools_but_no_tool_choice()
    make(emu, model=model).bind_tools([GOOD])  # auto: fine
    with pytest.raises(ToolsUnsupportedError, match="does not list tool_choice"):
        make(emu, model=model).bind_tools([GOOD], tool_choice="get_weather")
    assert emu.chat_requests() == []


def _a_model_with_tools_but_no_tool_choice() -> str:
    from tests.support.emulator_catalog import load_snapshot_catalog

    return next(
        m["id"]
        for m in load_snapshot_catalog()
        if "tools" in m["supported_parameters"] and "tool_choice" not in m["supported_parameters"]
    )


# --------------------------------------------------------------------------------------------
# a response_format given directly (with_structured_output builds its own)

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}}
BAD_RESPONSE_FORMATS: list[tuple[str, Any, list[str]]] = [
    ("not-a-dict", "json", ["response_format='json'", "a dict is expected"]),
    ("bogus-type", {"type": "bogus"}, ["response_format.type='bogus'", "'json_schema'"]),
    ("json-schema-missing", {"type": "json_schema"},
     ["response_format.json_schema=None", "missing"]),
    ("bad-name", {"type": "json_schema", "json_schema": {"name": "my answer", "schema": SCHEMA}},
     ["json_schema.name='my answer'", "1 to 64 letters"]),
    ("schema-missing", {"type": "json_schema", "json_schema": {"name": "answer"}},
     ["json_schema.schema=None", "a JSON schema"]),
    ("strict-not-bool", {"type": "json_schema",
                         "json_schema": {"name": "a", "schema": SCHEMA, "strict": "yes"}},
     ["json_schema.strict='yes'", "True or False"]),
    ("unresolvable-ref", {"type": "json_schema", "json_schema": {"name": "a", "schema": {
        "type": "object", "properties": {"city": {"$ref": "#/$defs/City"}}}}},
     ["$ref '#/$defs/City' at #/properties/city"]),
]  # fmt: skip


def _response_format_via(path: str, emu: OpenRouterEmulator, value: Any) -> None:
    if path == "constructor":  # not a field: read as model_kwargs
        make(emu, response_format=value)
    elif path == "model_kwargs":
        make(emu, model_kwargs={"response_format": value})
    elif path == "bind":
        make(emu).bind(response_format=value)
    else:
        make(emu).invoke("Answer in JSON.", response_format=value)


@pytest.mark.parametrize("path", ["constructor", "model_kwargs", "bind", "invoke"])
@pytest.mark.parametrize(("value", "words"), [c[1:] for c in BAD_RESPONSE_FORMATS],
                         ids=[c[0] for c in BAD_RESPONSE_FORMATS])  # fmt: skip
def test_a_bad_response_format_is_refused_on_every_path(
    emu: OpenRouterEmulator, path: str, value: Any, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        _response_format_via(path, emu, value)
    for word in words:
        if path in ("constructor", "model_kwargs") and word.startswith("response_format"):
            word = "model_kwargs['response_format']" + word[len("response_format") :]
        assert word in str(caught.value), (word, str(caught.value))
    assert emu.requests == []


def test_a_good_response_format_is_sent_as_given(emu: OpenRouterEmulator) -> None:
    value = {"type": "json_schema",
             "json_schema": {"name": "answer", "schema": SCHEMA, "strict": False}}  # fmt: skip
    make(emu).invoke("Answer in JSON.", response_format=value)
    assert emu.chat_requests()[-1].json["response_format"] == value


# --------------------------------------------------------------------------------------------
# messages: checked before any network call, the catalog fetch included

B64_TEXT = base64.b64encode(b"Notes: ship on Friday.").decode()

BAD_MESSAGES: list[tuple[str, Any, list[str]]] = [
    ("empty", [], ["No messages to send", "llm.invoke('Hello')"]),
    ("tool-call-without-id",
     [HumanMessage("hi"),
      AIMessage("", tool_calls=[{"name": "get_weather", "args": {}, "id": None}]),
      ToolMessage("sunny", tool_call_id="call_1")],
     ["messages[1] (AIMessage)", "tool call 'get_weather' has no id", "tool_call_id"]),
    ("tool-message-without-id", [HumanMessage("hi"), ToolMessage("sunny", tool_call_id=" ")],
     ["messages[1] (ToolMessage)", "needs the tool_call_id"]),
    ("tool-result-without-its-call",
     [HumanMessage("hi"), ToolMessage("sunny", tool_call_id="call_9")],
     ["messages[1] (ToolMessage)", "tool_call_id='call_9' answers no tool call",
      "the calls made: none", "trimmed history"]),
    ("tool-result-for-another-call",
     [HumanMessage("hi"),
      AIMessage("", tool_calls=[{"name": "get_weather", "args": {}, "id": "call_1"}]),
      ToolMessage("sunny", tool_call_id="call_2")],
     ["messages[2] (ToolMessage)", "'call_2'", "['call_1']"]),
    ("empty-human-content", [HumanMessage([])],
     ["messages[0] (HumanMessage)", "no content parts"]),
    ("text-part-without-text", [HumanMessage([{"type": "text"}])],
     ["messages[0] (HumanMessage)", "a text part needs its text as a string"]),
    ("function-message", [FunctionMessage("x", name="f")],
     ["messages[0] (FunctionMessage)", "ToolMessage(content=..., tool_call_id=...)"]),
    ("unknown-part", [HumanMessage([{"type": "hologram", "data": "x"}])],
     ["messages[0] (HumanMessage)", "'hologram'", "text-plain"]),
    ("image-file-id", [HumanMessage([{"type": "image", "file_id": "file-abc"}])],
     ["file_id='file-abc'", "not supported by OpenRouter", "base64=..."]),
    ("file-file-id", [HumanMessage([{"type": "file", "file_id": "file-abc"}])],
     ["not supported by OpenRouter"]),
    ("audio-file-id", [HumanMessage([{"type": "audio", "file_id": "file-abc"}])],
     ["not supported by OpenRouter"]),
    ("text-plain-file-id", [HumanMessage([{"type": "text-plain", "file_id": "f",
                                           "mime_type": "text/plain"}])],
     ["not supported by OpenRouter"]),
    ("audio-http-url", [HumanMessage([{"type": "audio", "url": "https://example.com/a.wav"}])],
     ["base64 only, not by URL", "mime_type='audio/wav'"]),
    ("base64-image-without-mime", [HumanMessage([{"type": "image", "base64": "AAAA"}])],
     ["mime_type"]),  # LangChain itself may refuse it first
]  # fmt: skip


def _messages_via(path: str, llm: ChatOpenRouter, messages: Any) -> None:
    if path == "invoke":
        llm.invoke(messages)
    elif path == "stream":
        list(llm.stream(messages))
    elif path == "batch":
        llm.batch([messages])
    else:
        asyncio.run(llm.ainvoke(messages))


@pytest.mark.parametrize("path", ["invoke", "stream", "batch", "ainvoke"])
@pytest.mark.parametrize(("messages", "words"), [c[1:] for c in BAD_MESSAGES],
                         ids=[c[0] for c in BAD_MESSAGES])  # fmt: skip
def test_a_bad_message_is_refused_before_any_request(
    emu: OpenRouterEmulator, path: str, messages: Any, words: list[str]
) -> None:
    with pytest.raises(ValueError) as caught:
        _messages_via(path, make(emu), messages)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert emu.requests == [], "not even the catalog may be fetched"


@pytest.mark.parametrize(
    ("block", "wire"),
    [
        ({"type": "text-plain", "text": "Ship on Friday.", "mime_type": "text/plain"},
         {"type": "text", "text": "Ship on Friday."}),
        ({"type": "text-plain", "base64": B64_TEXT, "mime_type": "text/plain", "title": "notes"},
         {"type": "text", "text": "notes\n\nNotes: ship on Friday."}),
        ({"type": "text-plain", "url": "https://example.com/n.txt", "mime_type": "text/plain"},
         {"type": "file", "file": {"filename": "document.txt",
                                   "file_data": "https://example.com/n.txt"}}),
        ({"type": "image", "url": "https://example.com/c.png"},
         {"type": "image_url", "image_url": {"url": "https://example.com/c.png"}}),
        ({"type": "image", "base64": "AAAA", "mime_type": "image/png"},
         {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}),
        ({"type": "file", "url": "https://example.com/a.pdf", "mime_type": "application/pdf"},
         {"type": "file", "file": {"filename": "document.pdf",
                                   "file_data": "https://example.com/a.pdf"}}),
        ({"type": "file", "base64": "JVBE", "mime_type": "application/pdf", "filename": "a.pdf"},
         {"type": "file", "file": {"filename": "a.pdf",
                                   "file_data": "data:application/pdf;base64,JVBE"}}),
        ({"type": "audio", "base64": "UklG", "mime_type": "audio/wav"},
         {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}),
        ({"type": "audio", "url": "data:audio/mpeg;base64,SUQz"},
         {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}}),
    ],
)  # fmt: skip
def test_langchain_v1_standard_blocks_are_accepted(
    emu: OpenRouterEmulator, block: dict[str, Any], wire: dict[str, Any]
) -> None:
    make(emu).invoke([HumanMessage([{"type": "text", "text": "Read this."}, block])])
    content = emu.chat_requests()[-1].json["messages"][0]["content"]
    assert content[1] == wire


def test_a_schema_with_an_unresolvable_ref_fails_at_build_time(emu: OpenRouterEmulator) -> None:
    schema = {
        "title": "Answer",
        "type": "object",
        "properties": {"city": {"$ref": "#/$defs/City"}, "nested": {"$ref": "#"}},
    }
    with pytest.raises(ValueError) as caught:
        make(emu).with_structured_output(schema)
    message = str(caught.value)
    assert "'#/$defs/City' at #/properties/city" in message and "'$defs'" in message
    assert emu.requests == []
