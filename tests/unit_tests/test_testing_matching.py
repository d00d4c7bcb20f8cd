"""``testing.matching``: bodies match as canonical JSON; any value change is found and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vcr.request import Request

from langchain_openrouter_fenic.testing import canonical_body, first_difference, json_body


def _request(body: str | bytes | None) -> Request:
    return Request("POST", "http://h/api/v1/chat/completions", body, {})


def test_key_order_and_whitespace_never_matter() -> None:
    sent = _request(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
    recorded = _request('{"messages":[{"content":"hi","role":"user"}],\n  "model":"m"}')
    json_body(sent, recorded)  # no AssertionError


@pytest.mark.parametrize(
    ("sent", "recorded", "where"),
    [
        ('{"messages":[{"content":"hi"}]}', '{"messages":[{"content":"ho"}]}',
         "$.messages[0].content: sent 'hi', recorded 'ho'"),
        ('{"a":1}', '{"a":1.0}', "$.a: sent 1, recorded 1.0"),
        ('{"a":true}', '{"a":1}', "$.a: sent true, recorded 1"),
        ('{"a":[1,2]}', '{"a":[1]}', "$.a: sent 2 items, recorded 1"),
        ('{"a":1,"b":2}', '{"a":1}', "$.b: sent 2, not in the recorded request"),
        ('{"a":1}', '{"a":1,"tools":[]}', "$.tools: recorded [], not sent"),
    ],
)  # fmt: skip
def test_a_change_is_named_by_its_path(sent: str, recorded: str, where: str) -> None:
    with pytest.raises(AssertionError, match="request bodies differ at") as info:
        json_body(_request(sent), _request(recorded))
    assert where in str(info.value)


def test_uuids_are_compared_as_placeholders() -> None:
    one = '{"id":"call_0b9f4b1e-3c1a-4a4e-9d1c-2f8e1a7b6c5d"}'
    other = '{"id":"call_9d8c7b6a-5f4e-4d3c-8b2a-1a0f9e8d7c6b"}'
    json_body(_request(one), _request(other))


def test_bodies_that_are_not_json_compare_as_text() -> None:
    json_body(_request(b"a=1&b=2"), _request("a=1&b=2"))
    with pytest.raises(AssertionError):
        json_body(_request("a=1"), _request("a=2"))
    assert canonical_body(None) is None and canonical_body(b"  ") is None


def test_long_values_are_shortened_in_messages() -> None:
    found = first_difference({"c": "x" * 500}, {"c": "y"})
    assert found is not None and len(found) < 200 and found.endswith("recorded 'y'")


def test_tool_descriptions_match_whatever_their_docstring_indentation() -> None:
    # Python 3.13 strips docstring indentation at compile time; 3.10-3.12 keep it
    def body(description: str) -> str:
        return json.dumps(
            {"tools": [{"type": "function", "function": {"description": description}}]}
        )

    json_body(
        _request(body("Adds.\n\n    Takes a and b.")), _request(body("Adds.\n\nTakes a and b."))
    )
    with pytest.raises(AssertionError):
        json_body(_request(body("Adds.\n\nTakes a and b.")), _request(body("Adds.\n\nTakes a.")))


def test_the_package_config_works_with_any_vcr_and_attach_adds_json_matching(
    tmp_path: Path,
) -> None:
    import vcr

    from langchain_openrouter_fenic.testing import Scrubber, attach, vcr_config

    recorder = vcr.VCR(**vcr_config())  # a VCR the package did not make
    with recorder.use_cassette(str(tmp_path / "c.yaml")) as cassette:
        attach(cassette, Scrubber(environ={}))
        assert json_body in cassette._match_on
