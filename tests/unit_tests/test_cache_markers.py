"""Prompt-caching markers on the wire: content blocks, message-level markers, bad markers."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_openrouter_fenic.caching import (
    check_cache_control,
    response_cache_headers,
    response_cache_metadata,
)
from langchain_openrouter_fenic.wire.messages import to_openrouter_message

EPHEMERAL = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def test_markers_on_text_image_and_file_blocks() -> None:
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "the contract", "cache_control": HOUR},
            {"type": "image", "url": "https://example.org/a.png", "cache_control": EPHEMERAL},
            {
                "type": "file",
                "base64": "JVBERi0=",
                "mime_type": "application/pdf",
                "extras": {"cache_control": EPHEMERAL},
            },
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}, "cache_control": HOUR},
            {"type": "text", "text": "question, not cached"},
        ]
    )
    parts = to_openrouter_message(msg)["content"]
    assert parts[0] == {"type": "text", "text": "the contract", "cache_control": HOUR}
    assert parts[1] == {
        "type": "image_url",
        "image_url": {"url": "https://example.org/a.png"},
        "cache_control": EPHEMERAL,
    }
    assert parts[2]["type"] == "file" and parts[2]["cache_control"] == EPHEMERAL
    assert parts[3]["cache_control"] == HOUR
    assert "cache_control" not in parts[4]


def test_message_level_marker_marks_the_last_part() -> None:
    system = SystemMessage("You are a contracts lawyer.", additional_kwargs={"cache_control": HOUR})
    assert to_openrouter_message(system) == {
        "role": "system",
        "content": [{"type": "text", "text": "You are a contracts lawyer.", "cache_control": HOUR}],
    }
    human = HumanMessage(
        content=[{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        additional_kwargs={"cache_control": EPHEMERAL},
    )
    parts = to_openrouter_message(human)["content"]
    assert "cache_control" not in parts[0] and parts[1]["cache_control"] == EPHEMERAL
    tool = ToolMessage(
        content=[{"type": "text", "text": "long tool output", "cache_control": EPHEMERAL}],
        tool_call_id="call_1",
    )
    assert to_openrouter_message(tool)["content"] == [
        {"type": "text", "text": "long tool output", "cache_control": EPHEMERAL}
    ]
    plain_tool = ToolMessage(content=[{"type": "text", "text": "x"}], tool_call_id="call_1")
    assert to_openrouter_message(plain_tool)["content"] == "x"  # unmarked parts still join


@pytest.mark.parametrize(
    ("marker", "complaint"),
    [
        (True, "must be a dict"),
        ({"type": "persistent"}, "only type is 'ephemeral'"),
        ({"type": "ephemeral", "ttl": "2h"}, "use '5m'"),
        ({"type": "ephemeral", "scope": "global"}, "unknown keys ['scope']"),
    ],
)
def test_bad_markers_are_refused_by_name(marker: object, complaint: str) -> None:
    block = HumanMessage(content=[{"type": "text", "text": "x", "cache_control": marker}])
    with pytest.raises(ValueError, match="text content block") as caught:
        to_openrouter_message(block)
    assert complaint in str(caught.value)
    message = SystemMessage("x", additional_kwargs={"cache_control": marker})
    with pytest.raises(ValueError, match=r"SystemMessage.additional_kwargs"):
        to_openrouter_message(message)


def test_marker_on_a_message_without_content() -> None:
    calls_only = AIMessage(
        content="",
        tool_calls=[{"name": "f", "args": {}, "id": "call_1"}],
        additional_kwargs={"cache_control": EPHEMERAL},
    )
    with pytest.raises(ValueError, match="has none"):
        to_openrouter_message(calls_only)


def test_response_cache_headers_and_metadata() -> None:
    assert response_cache_headers(None) == {}
    assert response_cache_headers(True, 600) == {
        "X-OpenRouter-Cache": "true",
        "X-OpenRouter-Cache-TTL": "600",
    }
    assert response_cache_headers(False) == {"X-OpenRouter-Cache": "false"}
    assert response_cache_headers(True, None, True)["X-OpenRouter-Cache-Clear"] == "true"
    assert response_cache_metadata({}) is None
    assert response_cache_metadata({"content-type": "application/json"}) is None
    hit = {
        "x-openrouter-cache-status": "hit",
        "x-openrouter-cache-ttl": "287",
        "x-openrouter-cache-age": "13",
        "x-openrouter-cache-source-id": "gen-1",
    }
    assert response_cache_metadata(hit) == {
        "status": "HIT",
        "ttl": 287,
        "age": 13,
        "source_id": "gen-1",
    }
    odd = {"x-openrouter-cache-status": "MISS", "x-openrouter-cache-ttl": "soon"}
    assert response_cache_metadata(odd) == {"status": "MISS"}  # unreadable numbers are left out
    assert check_cache_control(HOUR, "x") == HOUR
