"""The extraction chain, replayed from cassettes (record with ``--record-mode=rewrite``)."""

from __future__ import annotations

import json

import pytest
from example_app.extraction import Person, extraction_chain

from langchain_openrouter_fenic import StructuredOutputUnsupportedError

pytestmark = [pytest.mark.vcr, pytest.mark.openrouter_cassette]

CASES = {
    "ada": (
        'The engineer "Ada Lovelace" is 36 and lives in "London".',
        Person(name="Ada Lovelace", age=36, city="London"),
    ),
    "grace": (
        'Meet "Grace Hopper", 85 years old, from "Arlington".',
        Person(name="Grace Hopper", age=85, city="Arlington"),
    ),
    "alan": (
        'Our new colleague "Alan Turing" (41) works in "Manchester".',
        Person(name="Alan Turing", age=41, city="Manchester"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_extracts_a_person(case: str) -> None:
    text, expected = CASES[case]
    assert extraction_chain().invoke({"text": text}) == expected


def test_the_request_asks_for_a_strict_json_schema(openrouter_cassette) -> None:
    text, expected = CASES["ada"]
    assert extraction_chain().invoke({"text": text}) == expected

    (request,) = [r for r in openrouter_cassette.cassette.requests if r.method == "POST"]
    body = json.loads(request.body)
    assert body["model"] == "openai/gpt-4o-mini"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert "tools" not in body


def test_a_tools_only_model_gets_a_forced_tool_call(openrouter_cassette) -> None:
    text, expected = CASES["grace"]
    assert extraction_chain("deepseek/deepseek-chat").invoke({"text": text}) == expected

    (request,) = [r for r in openrouter_cassette.cassette.requests if r.method == "POST"]
    body = json.loads(request.body)
    assert body["tool_choice"]["function"]["name"] == "Person"
    assert "response_format" not in body


def test_a_model_without_structured_output_fails_before_any_request(openrouter_cassette) -> None:
    with pytest.raises(StructuredOutputUnsupportedError, match="goliath"):
        extraction_chain("alpindale/goliath-120b")
    assert openrouter_cassette.cassette.requests == []


def test_batch_extracts_each_text() -> None:
    texts = [{"text": CASES[c][0]} for c in CASES]
    assert extraction_chain().batch(texts) == [CASES[c][1] for c in CASES]


async def test_async_extraction() -> None:
    text, expected = CASES["alan"]
    assert await extraction_chain().ainvoke({"text": text}) == expected
