"""LangChain messages -> OpenRouter wire messages."""

from __future__ import annotations

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_openrouter_fenic.wire.messages import to_openrouter_message, to_openrouter_messages


def test_system_and_developer_roles() -> None:
    assert to_openrouter_message(SystemMessage("be brief")) == {
        "role": "system",
        "content": "be brief",
    }
    dev = SystemMessage("rules", additional_kwargs={"__openai_role__": "developer"})
    assert to_openrouter_message(dev)["role"] == "developer"


def test_human_multimodal_parts() -> None:
    msg = HumanMessage(
        content=[
            {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
            {"type": "image", "url": "https://example.com/cat.png"},
            {"type": "image", "base64": "AAAA", "mime_type": "image/png"},
            {"type": "file", "base64": "JVBE", "mime_type": "application/pdf", "filename": "a.pdf"},
            {"type": "audio", "base64": "UklG", "mime_type": "audio/wav"},
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/dog.jpg", "detail": "low"},
            },
        ]
    )
    parts = to_openrouter_message(msg)["content"]
    assert parts[0] == {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}}
    assert parts[1] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    assert parts[2] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert parts[3] == {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
    }
    assert parts[4] == {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}}
    assert parts[5]["image_url"]["detail"] == "low"


def test_base64_block_without_mime_type_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="mime_type"):
        to_openrouter_message(HumanMessage(content=[{"type": "image", "base64": "AAAA"}]))


def test_assistant_tool_calls_and_reasoning_details_go_back_unchanged() -> None:
    details = [
        {
            "type": "reasoning.encrypted",
            "data": "xyz",
            "id": "r1",
            "format": "anthropic-claude-v1",
            "index": 0,
        }
    ]
    ai = AIMessage(
        content="",
        tool_calls=[{"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"}],
        additional_kwargs={"reasoning_details": details, "reasoning_content": "thinking"},
    )
    out = to_openrouter_message(ai)
    assert out["content"] is None
    assert out["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        }
    ]
    assert out["reasoning_details"] is details
    assert "reasoning" not in out  # the details carry it, signatures included


def test_assistant_reasoning_text_without_details() -> None:
    out = to_openrouter_message(AIMessage("4", additional_kwargs={"reasoning_content": "2+2"}))
    assert out == {"role": "assistant", "content": "4", "reasoning": "2+2"}


def test_tool_message_and_chat_message() -> None:
    call = AIMessage("", tool_calls=[{"name": "weather", "args": {}, "id": "call_1"}])
    msgs = to_openrouter_messages(
        [
            call,
            ToolMessage(content=[{"type": "text", "text": "21 C"}], tool_call_id="call_1"),
            ChatMessage(role="user", content="hi"),
        ]
    )
    assert msgs[1:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "21 C"},
        {"role": "user", "content": "hi"},
    ]


def test_function_message_is_refused_with_advice() -> None:
    with pytest.raises(ValueError, match="ToolMessage"):
        to_openrouter_message(FunctionMessage(name="f", content="x"))


def test_names_are_sent() -> None:
    assert to_openrouter_message(HumanMessage("hi", name="alice"))["name"] == "alice"
