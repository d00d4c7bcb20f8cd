"""Tool binding: LangChain tools and ``tool_choice`` in OpenRouter's (OpenAI) wire format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

__all__ = ["format_tools", "tool_choice_param"]


def format_tools(
    tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], strict: bool | None
) -> list[dict[str, Any]]:
    """Tools as ``{"type": "function", "function": {name, description, parameters}}``."""
    return [convert_to_openai_tool(t, strict=strict) for t in tools]


def tool_choice_param(
    choice: dict[str, Any] | str | bool, names: list[str]
) -> dict[str, Any] | str:
    """The wire ``tool_choice``; a tool name must be one of ``names``."""
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return str(choice)
    if isinstance(choice, str):
        if choice not in names:
            raise ValueError(
                f"tool_choice={choice!r} names no bound tool; the tools are {names}. Use one of "
                "them, or 'auto', 'none', 'required'."
            )
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, dict):
        return choice
    raise ValueError(f"tool_choice={choice!r}: use 'auto', 'none', 'required', or a tool name.")
