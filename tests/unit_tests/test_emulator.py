"""The loopback OpenRouter emulator, checked over plain ``http.client`` (not the package)."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.emulator import (
    OpenRouterEmulator,
    ProviderBucket,
    Reply,
    WindowBudget,
    running_emulator,
)
from tests.support.emulator_catalog import load_snapshot_catalog
from tests.support.emulator_replies import DOCUMENTED_ERROR_STATUSES
from tests.support.emulator_schema import ValueHints, instance_for, validation_errors

MODEL = "openai/gpt-4o-mini"
AUTH = {"Authorization": "Bearer test-key"}
PROMPT = [{"role": "user", "content": "Say something short."}]


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[dict[str, Any]]:
        blocks = self.body.decode().split("\n\n")
        datas = [b[len("data: ") :] for b in blocks if b.startswith("data: ")]
        return [json.loads(d) for d in datas if d != "[DONE]"]


def call(
    emu: OpenRouterEmulator,
    method: str,
    route: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
) -> Response:
    parts = urlsplit(emu.url)
    connection = conn or http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    payload = None if body is None else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **(headers if headers is not None else AUTH)}
    connection.request(method, parts.path + route, body=payload, headers=sent)
    reply = connection.getresponse()
    data = reply.read()
    result = Response(reply.status, {k.lower(): v for k, v in reply.getheaders()}, data)
    if conn is None:
        connection.close()
    return result


def chat(emu: OpenRouterEmulator, **body: Any) -> Response:
    return call(emu, "POST", "/chat/completions", {"model": MODEL, "messages": PROMPT, **body})


@pytest.fixture(scope="module")
def shared() -> Iterator[OpenRouterEmulator]:
    with running_emulator() as emu:
        yield emu


@pytest.fixture
def emu(shared: OpenRouterEmulator) -> OpenRouterEmulator:
    shared.reset()
    return shared


# ---- GET routes ---------------------------------------------------------------------------------


def test_models_serves_the_shipped_snapshot_and_filters_by_parameter(
    emu: OpenRouterEmulator,
) -> None:
    catalog = load_snapshot_catalog()
    everything = call(emu, "GET", "/models", headers={}).json()["data"]
    assert [m["id"] for m in everything] == [m["id"] for m in catalog]
    tools_only = call(emu, "GET", "/models?supported_parameters=tools,reasoning").json()["data"]
    assert 0 < len(tools_only) < len(everything)
    assert all({"tools", "reasoning"} <= set(m["supported_parameters"]) for m in tools_only)
    assert emu.requests[-1].query == {"supported_parameters": "tools,reasoning"}


def test_models_user_and_key_require_a_bearer_key(emu: OpenRouterEmulator) -> None:
    for route in ("/models/user", "/key"):
        denied = call(emu, "GET", route, headers={})
        assert denied.status == 401
        assert denied.json()["error"] == {"message": "No auth credentials found", "code": 401}
    assert call(emu, "GET", "/models/user").json()["data"][0]["id"]
    key = call(emu, "GET", "/key", headers={"Authorization": "Bearer sk-or-v1-abcdef123456"})
    data = key.json()["data"]
    assert data["label"] == "sk-or-v1...456"
    assert {"limit", "limit_remaining", "usage", "is_free_tier", "rate_limit"} <= set(data)


def test_a_configured_api_key_rejects_other_keys() -> None:
    with running_emulator(catalog=load_snapshot_catalog()[:3], api_key="right") as emu:
        wrong = chat(emu)
        assert wrong.status == 401
        assert wrong.json()["error"]["message"] == "User not found."
        assert (
            call(
                emu, "POST", "/chat/completions", {"model": "x"}, {"Authorization": "Bearer right"}
            ).status
            == 400
        )


def test_endpoints_are_generated_from_the_catalog_entry(emu: OpenRouterEmulator) -> None:
    entry = next(m for m in load_snapshot_catalog() if m["id"] == "anthropic/claude-sonnet-4")
    doc = call(emu, "GET", "/models/anthropic/claude-sonnet-4/endpoints").json()["data"]
    assert doc["id"] == entry["id"] and doc["architecture"] == entry["architecture"]
    assert 2 <= len(doc["endpoints"]) <= 3
    assert doc["endpoints"][0]["provider_name"] == "Anthropic"
    for endpoint in doc["endpoints"]:
        assert endpoint["supported_parameters"] == entry["supported_parameters"]
        assert endpoint["pricing"]["prompt"] == entry["pricing"]["prompt"]
        assert endpoint["status"] == 0 and endpoint["uptime_last_30m"] > 90
    again = call(emu, "GET", "/models/anthropic/claude-sonnet-4/endpoints").body
    assert again == call(emu, "GET", "/models/anthropic/claude-sonnet-4/endpoints").body
    assert call(emu, "GET", "/models/nobody/nothing/endpoints").status == 404


def test_explicit_endpoints_replace_the_generated_ones() -> None:
    custom = [{"provider_name": "Only", "supported_parameters": ["tools"], "status": 0}]
    with running_emulator(endpoints={MODEL: custom}) as emu:
        assert call(emu, "GET", f"/models/{MODEL}/endpoints").json()["data"]["endpoints"] == custom


def test_get_overrides_take_the_longest_matching_suffix_and_can_be_cleared(
    emu: OpenRouterEmulator,
) -> None:
    emu.set_get_reply("/models", Reply.error(500, "catalog down"))
    emu.set_get_reply("/models/user", Reply.error(401, "bad key"))
    assert call(emu, "GET", "/models").status == 500
    assert call(emu, "GET", "/models/user").status == 401
    emu.set_get_reply("/models", None)
    assert call(emu, "GET", "/models").status == 200
    assert emu.count("/models") == 2 and emu.count("/models/user") == 1


# ---- default chat: JSON ------------------------------------------------------------------------


def test_json_chat_has_the_real_openrouter_shape_and_catalog_cost(emu: OpenRouterEmulator) -> None:
    reply = chat(emu)
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    doc = reply.json()
    assert doc["id"].startswith("gen-") and doc["object"] == "chat.completion"
    assert doc["provider"] == "Emulated" and doc["model"] == MODEL
    assert "system_fingerprint" not in doc
    choice = doc["choices"][0]
    assert choice["finish_reason"] == choice["native_finish_reason"] == "stop"
    assert choice["message"]["content"] == "You said: Say something short."
    assert choice["message"]["refusal"] is None and choice["logprobs"] is None
    usage = doc["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    expected = usage["prompt_tokens"] * 0.00000015 + usage["completion_tokens"] * 0.0000006
    assert usage["cost"] == pytest.approx(expected)
    assert usage["cost_details"]["upstream_inference_prompt_cost"] == pytest.approx(
        usage["prompt_tokens"] * 0.00000015
    )
    assert usage["is_byok"] is False and usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


def test_requests_are_recorded_with_lower_case_headers_and_json(emu: OpenRouterEmulator) -> None:
    headers = {**AUTH, "HTTP-Referer": "https://app.example", "X-Title": "Demo"}
    call(emu, "POST", "/chat/completions", {"model": MODEL, "messages": PROMPT}, headers)
    (recorded,) = emu.chat_requests()
    assert recorded.path == "/api/v1/chat/completions" and recorded.method == "POST"
    assert recorded.headers["http-referer"] == "https://app.example"
    assert recorded.headers["x-title"] == "Demo"
    assert recorded.json == {"model": MODEL, "messages": PROMPT}


def test_max_tokens_truncates_with_length_and_stop_cuts_the_text(emu: OpenRouterEmulator) -> None:
    long_prompt = [{"role": "user", "content": "one two three four five six"}]
    cut = chat(emu, messages=long_prompt, max_tokens=3).json()
    assert cut["choices"][0]["message"]["content"] == "You said: one"
    assert cut["choices"][0]["finish_reason"] == "length"
    stopped = chat(emu, messages=long_prompt, stop=["four"]).json()["choices"][0]
    assert stopped["message"]["content"] == "You said: one two three "
    assert stopped["finish_reason"] == "stop"


def test_bad_requests_get_openrouter_error_bodies(emu: OpenRouterEmulator) -> None:
    unknown = chat(emu, model="nobody/nothing")
    assert unknown.status == 400
    assert unknown.json()["error"] == {
        "message": "nobody/nothing is not a valid model ID",
        "code": 400,
    }
    assert unknown.json()["user_id"]
    assert chat(emu, model=f"{MODEL}:nitro").status == 200  # routing variants of known ids are fine
    empty = chat(emu, messages=[])
    assert empty.status == 400 and "at least 1 token" in empty.json()["error"]["message"]
    assert call(emu, "POST", "/chat/completions", {"model": MODEL}, headers={}).status == 401


# ---- default chat: SSE --------------------------------------------------------------------------


def test_sse_chat_has_comments_chunks_usage_chunk_and_done(emu: OpenRouterEmulator) -> None:
    reply = chat(emu, stream=True)
    assert reply.headers["content-type"] == "text/event-stream"
    assert reply.headers["transfer-encoding"] == "chunked"
    text = reply.body.decode()
    assert text.startswith(": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: ")
    assert text.endswith("data: [DONE]\n\n")
    events = reply.events()
    content = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    assert content == chat(emu).json()["choices"][0]["message"]["content"]
    *deltas, finish, usage = events
    assert [d["choices"][0]["delta"]["content"] for d in deltas] == [
        "You",
        " said:",
        " Say",
        " something",
        " short.",
    ]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == [] and usage["usage"]["cost"] > 0
    assert {e["id"] for e in events} == {events[0]["id"]} and events[0]["provider"] == "Emulated"


def test_chunk_count_gives_an_exact_number_of_content_chunks() -> None:
    with running_emulator(chunk_count=200) as emu:
        events = chat(emu, stream=True).events()
        content_chunks = [
            e for e in events if e["choices"] and e["choices"][0]["delta"].get("content")
        ]
        assert len(content_chunks) == 200


def test_keep_alive_connection_serves_json_sse_json(emu: OpenRouterEmulator) -> None:
    parts = urlsplit(emu.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    body = {"model": MODEL, "messages": PROMPT}
    try:
        first = call(emu, "POST", "/chat/completions", body, conn=conn)
        streamed = call(emu, "POST", "/chat/completions", {**body, "stream": True}, conn=conn)
        last = call(emu, "POST", "/chat/completions", body, conn=conn)
    finally:
        conn.close()
    assert first.body == last.body and streamed.events()[-1]["choices"] == []


def test_same_request_gives_identical_bytes_across_emulators() -> None:
    request = {"model": MODEL, "messages": PROMPT, "stream": True}
    with running_emulator() as one, running_emulator() as two:
        first = call(one, "POST", "/chat/completions", request).body
        assert first == call(two, "POST", "/chat/completions", dict(reversed(request.items()))).body
        other = call(two, "POST", "/chat/completions", {**request, "temperature": 0.1}).events()
    assert json.loads(first.split(b"data: ")[1].split(b"\n")[0])["id"] != other[0]["id"]


# ---- tools, structured output, reasoning --------------------------------------------------------

MAGIC = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Apply a magic function to an input.",
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "integer"}},
            "required": ["input"],
        },
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"enum": ["fahrenheit", "celsius"]},
            },
            "required": ["location"],
        },
    },
}


def _ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_forced_tool_call_takes_arguments_from_the_prompt(emu: OpenRouterEmulator) -> None:
    doc = chat(
        emu,
        messages=_ask("What is magic_function(3)? Use the tool."),
        tools=[MAGIC],
        tool_choice="required",
    ).json()
    choice = doc["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call_,) = choice["message"]["tool_calls"]
    assert call_["function"]["name"] == "magic_function" and call_["id"].startswith("call_")
    assert json.loads(call_["function"]["arguments"]) == {"input": 3}


def test_tool_choice_by_name_mention_and_none(emu: OpenRouterEmulator) -> None:
    named = {"type": "function", "function": {"name": "get_weather"}}
    forced = chat(emu, messages=_ask("Hello!"), tools=[MAGIC, WEATHER], tool_choice=named).json()
    assert forced["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    mentioned = chat(
        emu,
        messages=_ask("What is the weather in San Francisco, CA in celsius?"),
        tools=[MAGIC, WEATHER],
    ).json()
    args = json.loads(mentioned["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])
    assert args == {"location": "San Francisco, CA", "unit": "celsius"}
    plain = chat(emu, messages=_ask("Hello!"), tools=[MAGIC, WEATHER]).json()
    assert "tool_calls" not in plain["choices"][0]["message"]
    refused = chat(emu, messages=_ask("Use the tool"), tools=[MAGIC], tool_choice="none").json()
    assert "tool_calls" not in refused["choices"][0]["message"]


def test_a_tool_result_gets_a_text_answer_quoting_it(emu: OpenRouterEmulator) -> None:
    history = [
        *_ask("What is magic_function(3)?"),
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "magic_function", "arguments": '{"input":3}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "5"},
    ]
    doc = chat(emu, messages=history, tools=[MAGIC]).json()
    assert doc["choices"][0]["message"]["content"] == "The tool returned: 5"


def test_streamed_tool_call_arguments_arrive_in_pieces(emu: OpenRouterEmulator) -> None:
    events = chat(
        emu,
        messages=_ask("Use magic_function on 41"),
        tools=[MAGIC],
        tool_choice="any",
        stream=True,
    ).events()
    pieces = [
        tc
        for e in events
        if e["choices"]
        for tc in e["choices"][0]["delta"].get("tool_calls") or []
    ]
    assert pieces[0]["id"].startswith("call_") and pieces[0]["function"]["name"] == "magic_function"
    assert len(pieces) >= 3
    assert json.loads("".join(p["function"]["arguments"] for p in pieces)) == {"input": 41}
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


PERSON = {
    "$defs": {
        "Address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
            "required": ["street", "city"],
            "additionalProperties": False,
        }
    },
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "score": {"type": "number"},
        "member": {"type": "boolean"},
        "role": {"type": "string", "enum": ["admin", "user"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "address": {"$ref": "#/$defs/Address"},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "since": {"type": "string", "format": "date"},
    },
    "required": ["name", "age", "address"],
    "additionalProperties": False,
}


def test_json_schema_replies_validate_streamed_or_not(emu: OpenRouterEmulator) -> None:
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": PERSON, "strict": True},
    }
    doc = chat(emu, messages=_ask("Record 'Ada Lovelace', aged 36."), response_format=fmt).json()
    person = json.loads(doc["choices"][0]["message"]["content"])
    assert validation_errors(person, PERSON) == []
    assert person["name"] == "Ada Lovelace" and person["age"] == 36
    events = chat(
        emu, messages=_ask("Record 'Ada Lovelace', aged 36."), response_format=fmt, stream=True
    ).events()
    streamed = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"]
    )
    assert json.loads(streamed) == person


def test_json_object_replies_use_the_keys_the_prompt_quotes(emu: OpenRouterEmulator) -> None:
    ask = _ask("Tell me a joke, as a JSON with 'setup' and 'punchline' keys.")
    doc = chat(emu, messages=ask, response_format={"type": "json_object"}).json()
    assert set(json.loads(doc["choices"][0]["message"]["content"])) == {"setup", "punchline"}


def test_reasoning_when_requested_or_thinking_model(emu: OpenRouterEmulator) -> None:
    doc = chat(emu, reasoning={"effort": "low"}).json()
    message, usage = doc["choices"][0]["message"], doc["usage"]
    assert message["reasoning"] and message["reasoning_details"][0]["type"] == "reasoning.text"
    assert message["reasoning_details"][0]["text"] == message["reasoning"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] > 0
    thinking = chat(emu, model="anthropic/claude-3.7-sonnet:thinking").json()["choices"][0][
        "message"
    ]
    assert thinking["reasoning_details"][0]["format"] == "anthropic-claude-v1"
    assert thinking["reasoning_details"][0]["signature"]
    hidden = chat(emu, reasoning={"exclude": True}).json()
    assert hidden["choices"][0]["message"]["reasoning"] is None
    assert hidden["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0
    events = chat(emu, reasoning={"enabled": True}, stream=True).events()
    streamed = "".join(
        e["choices"][0]["delta"].get("reasoning") or "" for e in events if e["choices"]
    )
    assert streamed == message["reasoning"]
    assert chat(emu).json()["choices"][0]["message"]["reasoning"] is None


def test_reasoning_by_default_when_the_catalog_says_so() -> None:
    entry = {
        "id": "lab/reasoner",
        "pricing": {"prompt": "0", "completion": "0"},
        "reasoning": {"mandatory": True},
    }
    with running_emulator(catalog=[entry]) as emu:
        message = chat(emu, model="lab/reasoner").json()["choices"][0]["message"]
    assert message["reasoning"] and message["reasoning_details"][0]["format"] == "unknown"


# ---- scripted replies and faults ----------------------------------------------------------------


def test_scripted_replies_are_used_in_order_then_the_default(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.text("first", provider="Groq"), Reply.tool_call("lookup", {"q": "x"}))
    assert emu.pending() == 2
    first = chat(emu).json()
    assert first["choices"][0]["message"]["content"] == "first" and first["provider"] == "Groq"
    tool = chat(emu, stream=True).events()
    assert tool[0]["choices"][0]["delta"]["tool_calls"][0]["function"]["name"] == "lookup"
    assert chat(emu).json()["choices"][0]["message"]["content"].startswith("You said:")
    assert emu.pending() == 0


def test_rate_limited_reply_carries_hints_in_headers_and_body(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.rate_limited(limit=20, remaining=0, reset_ms=1788825600000, retry_after=7))
    reply = chat(emu)
    assert reply.status == 429
    assert (
        reply.headers["x-ratelimit-limit"] == "20" and reply.headers["x-ratelimit-remaining"] == "0"
    )
    assert (
        reply.headers["x-ratelimit-reset"] == "1788825600000"
        and reply.headers["retry-after"] == "7"
    )
    metadata = reply.json()["error"]["metadata"]
    assert metadata["headers"]["X-RateLimit-Reset"] == "1788825600000"
    assert metadata["provider_name"] is None and metadata["retry_after_seconds"] == 7
    emu.enqueue(Reply.rate_limited(in_headers=False, in_body=False, provider="Venice"))
    bare = chat(emu)
    assert (
        "x-ratelimit-reset" not in bare.headers
        and "headers" not in bare.json()["error"]["metadata"]
    )
    assert bare.json()["error"]["metadata"]["provider_name"] == "Venice"


def test_provider_error_and_no_endpoints(emu: OpenRouterEmulator) -> None:
    emu.enqueue(
        Reply.provider_error(400, provider="Anthropic", raw="bad image"), Reply.no_endpoints()
    )
    error = chat(emu).json()["error"]
    assert error["message"] == "Provider returned error" and error["code"] == 400
    assert error["metadata"] == {"raw": "bad image", "provider_name": "Anthropic", "is_byok": False}
    missing = chat(emu)
    assert missing.status == 404
    assert (
        missing.json()["error"]["message"]
        == "No endpoints found that can handle the requested parameters."
    )


@pytest.mark.parametrize("status", DOCUMENTED_ERROR_STATUSES)
def test_every_documented_error_status_can_be_scripted(
    emu: OpenRouterEmulator, status: int
) -> None:
    emu.enqueue(Reply.error(status, f"status {status}", {"provider_name": None}))
    reply = chat(emu, stream=True)  # errors before the first token are plain JSON even for streams
    assert reply.status == status and reply.headers["content-type"] == "application/json"
    assert reply.json()["error"] == {
        "message": f"status {status}",
        "code": status,
        "metadata": {"provider_name": None},
    }


def test_error_rejects_a_non_error_status() -> None:
    with pytest.raises(ValueError, match="status=200"):
        Reply.error(200, "fine")


def test_drop_connection_before_and_during_the_body(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.drop_connection(), Reply.drop_connection(after_bytes=30))
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        chat(emu)
    with pytest.raises(http.client.IncompleteRead):
        chat(emu)
    assert chat(emu).status == 200  # the server keeps serving


def test_malformed_json_for_json_and_sse(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.malformed_json(), Reply.malformed_json())
    body = chat(emu)
    assert body.status == 200
    with pytest.raises(json.JSONDecodeError):
        body.json()
    stream = chat(emu, stream=True)
    with pytest.raises(json.JSONDecodeError):
        stream.events()
    assert stream.body.count(b"data: ") == 3  # one good chunk, the broken one, [DONE]


def test_mid_stream_error_for_sse_and_json(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.mid_stream_error(after_chunks=2, message="upstream died", code=502))
    emu.enqueue(Reply.mid_stream_error(after_chunks=1))
    reply = chat(emu, stream=True)
    assert reply.status == 200
    *chunks, failure = reply.events()
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "You said:"
    assert failure["error"]["code"] == 502 and failure["error"]["message"] == "upstream died"
    assert failure["choices"][0]["finish_reason"] == "error"
    as_json = chat(emu).json()["choices"][0]
    assert as_json["finish_reason"] == "error" and as_json["error"]["code"] == 502
    assert as_json["message"]["content"] == "You"


def test_error_inside_a_200_and_verbatim_json_and_sse(emu: OpenRouterEmulator) -> None:
    emu.enqueue(
        Reply.error_in_200("boom"),
        Reply.json(202, '\n\n  {"ok": true}', headers={"X-Extra": "1"}),
        Reply.sse([{"a": 1}, "data: {not json"], comments=1, done=False),
    )
    inside = chat(emu)
    assert inside.status == 200 and inside.json()["error"]["message"] == "boom"
    assert "choices" not in inside.json()
    padded = chat(emu)
    assert (
        padded.status == 202
        and padded.body == b'\n\n  {"ok": true}'
        and padded.headers["x-extra"] == "1"
    )
    raw = chat(emu, stream=True)
    assert raw.body == b': OPENROUTER PROCESSING\n\ndata: {"a":1}\n\ndata: {not json\n\n'


def test_delayed_reply_waits_before_answering(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.text("late").delayed(0.05))
    started = time.perf_counter()
    assert chat(emu).json()["choices"][0]["message"]["content"] == "late"
    assert time.perf_counter() - started >= 0.05


def test_completion_replies_refuse_to_answer_get_routes() -> None:
    with pytest.raises(ValueError, match="chat/completions only"):
        Reply.text("no").render(None)


def test_a_failing_script_answers_500_and_is_kept(emu: OpenRouterEmulator) -> None:
    emu.set_get_reply("/models", Reply.text("completions cannot answer a GET"))
    failed = call(emu, "GET", "/models")
    assert failed.status == 500 and "Reply.text() answers POST" in failed.json()["error"]["message"]
    assert isinstance(emu.failures[0], ValueError)


def test_chunked_request_bodies_are_read(emu: OpenRouterEmulator) -> None:
    parts = urlsplit(emu.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    body = json.dumps({"model": MODEL, "messages": PROMPT}).encode()
    try:
        conn.request(
            "POST",
            f"{parts.path}/chat/completions",
            body=iter([body[:10], body[10:]]),
            headers={**AUTH},
            encode_chunked=True,
        )
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert emu.chat_requests()[0].json == {"model": MODEL, "messages": PROMPT}


def test_reset_forgets_requests_queue_and_counters(emu: OpenRouterEmulator) -> None:
    emu.enqueue(Reply.text("x"))
    chat(emu)
    emu.enqueue(Reply.text("y"))
    emu.reset()
    assert emu.requests == [] and emu.pending() == 0 and emu.stats().attempts == 0


def test_client_hanging_up_mid_stream_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with running_emulator(chunk_count=50, chunk_interval=0.002) as emu:
        parts = urlsplit(emu.url)
        body = json.dumps({"model": MODEL, "messages": PROMPT, "stream": True}).encode()
        with socket.create_connection((parts.hostname, parts.port)) as sock:
            head = f"POST {parts.path}/chat/completions HTTP/1.1\r\nAuthorization: Bearer k\r\n"
            sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
        time.sleep(0.1)  # the server is still writing into the closed socket
        assert chat(emu).status == 200
    assert capfd.readouterr().err == ""


# ---- hidden limits ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_window_budget_answers_openrouter_429_with_the_window_end() -> None:
    clock = FakeClock(1_000_000.0)
    with running_emulator(clock=clock) as emu:
        emu.window_budget(limit=2, window=5.0)
        assert [chat(emu).status for _ in range(3)] == [200, 200, 429]
        limited = chat(emu)
        assert (
            limited.headers["x-ratelimit-limit"] == "2"
            and limited.headers["x-ratelimit-remaining"] == "0"
        )
        assert limited.headers["x-ratelimit-reset"] == "1000005000"
        assert limited.json()["error"]["metadata"]["headers"]["X-RateLimit-Reset"] == "1000005000"
        clock.now += 5.0
        assert chat(emu).status == 200
        assert emu.stats() == type(emu.stats())(
            attempts=5, rate_limited=2, successes=3, peak_in_flight=1
        )


def test_provider_bucket_answers_bare_provider_429s_and_refills() -> None:
    clock = FakeClock()
    with running_emulator(clock=clock) as emu:
        emu.provider_bucket(rate=2.0, burst=2)
        assert [chat(emu).status for _ in range(3)] == [200, 200, 429]
        limited = chat(emu)
        assert not any(h.startswith("x-ratelimit") or h == "retry-after" for h in limited.headers)
        error = limited.json()["error"]
        assert (
            error["message"] == "Provider returned error"
            and error["metadata"]["provider_name"] == "Emulated"
        )
        assert "temporarily rate-limited upstream" in error["metadata"]["raw"]
        clock.now += 0.5  # one token at 2/s
        assert [chat(emu).status for _ in range(2)] == [200, 429]
        emu.clear_limits()
        assert chat(emu).status == 200


def test_limits_given_at_construction_and_concurrent_counting() -> None:
    bucket = ProviderBucket(rate=1.0, burst=3, clock=FakeClock())
    with running_emulator(limits=[bucket], latency=0.05) as emu:
        with ThreadPoolExecutor(max_workers=5) as pool:
            statuses = sorted(pool.map(lambda _: chat(emu).status, range(5)))
        assert statuses == [200, 200, 200, 429, 429]
        stats = emu.stats()
        assert (stats.attempts, stats.successes, stats.rate_limited) == (5, 3, 2)
        assert stats.peak_in_flight >= 2  # the latency overlaps concurrent requests


def test_window_budget_records_each_refusal_by_instant_and_window_until_reset() -> None:
    clock = FakeClock(1_000_002.0)  # window 200_000 of 5 s holds [1_000_000, 1_000_005)
    budget = WindowBudget(limit=2, window=5.0, clock=clock)
    decided = [budget.admit(MODEL) is None for _ in range(4)]
    clock.now = 1_000_011.0  # two windows on: a fresh budget, nothing refused in between
    decided += [budget.admit(MODEL) is None for _ in range(3)]
    assert decided == [True, True, False, False, True, True, False]
    assert budget.refusals == (1_000_002.0, 1_000_002.0, 1_000_011.0)
    assert budget.refusals_per_window() == [2, 0, 1]
    assert budget.refusals_per_window(199_999, 200_003) == [0, 2, 0, 1, 0]
    budget.reset()
    assert budget.refusals == () and budget.refusals_per_window() == []
    assert budget.admit(MODEL) is None  # reset also gave back the window's budget


def test_refusals_are_recorded_once_each_under_concurrent_admits() -> None:
    clock = FakeClock()
    limits: list[WindowBudget | ProviderBucket] = [
        WindowBudget(limit=10, window=5.0, clock=clock),
        ProviderBucket(rate=1.0, burst=10, clock=clock),
    ]
    for limit in limits:
        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(limit.admit, [MODEL] * 200))
        refused = sum(reply is not None for reply in replies)
        assert refused == 190 and limit.refusals == (clock.now,) * 190


def test_hidden_limits_are_checked_before_scripted_replies() -> None:
    clock = FakeClock()
    with running_emulator(clock=clock) as emu:
        emu.window_budget(limit=0, window=1.0)
        emu.enqueue(Reply.text("kept"))
        assert chat(emu).status == 429 and emu.pending() == 1


# ---- schema generator ---------------------------------------------------------------------------


def test_instances_follow_the_schema_and_prefer_prompt_values() -> None:
    hints = ValueHints.from_text("Add 3 and 4.5 for 'Ada' in Paris")
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "number"},
            "who": {"type": "string"},
            "where": {"type": "string"},
            "rest": {"type": "string"},
        },
    }
    assert instance_for(schema, hints) == {
        "a": 3,
        "b": 4.5,
        "who": "Ada",
        "where": "Paris",
        "rest": "emulated rest",
    }
    assert validation_errors(instance_for(PERSON), PERSON) == []


def test_the_validator_reports_what_is_wrong() -> None:
    wrong = {"name": "A", "age": 200, "address": {"street": 1}, "extra": True}
    errors = validation_errors(wrong, PERSON)
    assert any("minLength" in e for e in errors) and any("maximum" in e for e in errors)
    assert any("'city'" in e for e in errors) and any("'extra'" in e for e in errors)
    assert any("$.address.street" in e for e in errors)


def test_recursive_and_combined_schemas_terminate_and_validate() -> None:
    tree = {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["value"],
            }
        },
        "allOf": [
            {"$ref": "#/$defs/Node"},
            {"properties": {"label": {"const": "root"}}, "required": ["label"]},
        ],
    }
    instance = instance_for(tree)
    assert instance["label"] == "root" and validation_errors(instance, tree) == []
