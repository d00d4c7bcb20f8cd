"""Tool binding: LangChain tools and ``tool_choice`` in OpenRouter's (OpenAI) wire format, and
the checks every tool passes before it is sent — from ``bind_tools``, ``bind(tools=...)``, a
per-call ``tools=`` or ``model_kwargs`` alike (:func:`check_tool_arguments`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

__all__ = [
    "SERVER_TOOL_PREFIX",
    "check_tool_arguments",
    "check_tool_choice",
    "check_tools",
    "format_tools",
    "tool_choice_param",
]

#: OpenRouter's own server-side tools: ``{"type": "openrouter:web_search"}`` ...
SERVER_TOOL_PREFIX = "openrouter:"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CHOICE_WORDS = ("none", "auto", "required")
_EMPTY_PARAMETERS = '{"type": "object", "properties": {}}'


def format_tools(
    tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool], strict: bool | None
) -> list[dict[str, Any]]:
    """Tools as ``{"type": "function", "function": {name, description, parameters}}``;
    OpenRouter server tools (``{"type": "openrouter:..."}``) are kept as given."""
    formatted = []
    for index, tool in enumerate(tools):
        if isinstance(tool, Mapping) and "function" not in tool and "type" in tool:
            kind = tool.get("type")
            if isinstance(kind, str) and kind.startswith(SERVER_TOOL_PREFIX):
                formatted.append(dict(tool))
                continue
            if kind != "function" and "properties" not in tool:
                raise ValueError(_bad_type(f"tools[{index}]", kind))
        if strict:
            formatted.append(_strict_tool(convert_to_openai_tool(tool)))
        else:
            formatted.append(convert_to_openai_tool(tool, strict=strict))
    return formatted


def _strict_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """``strict=True``: the parameters made strict-mode valid the way structured output makes
    its schemas (every property required, optional ones nullable), and a map
    (``dict[str, X]``) refused naming the field. LangChain's own strict conversion only adds
    ``additionalProperties: false``, which leaves optional properties out of ``required``
    (refused by strict mode) and closes a map to ``{}`` without a word."""
    from ..structured_output.schema import to_strict_json_schema

    function = dict(tool["function"])
    parameters = function.get("parameters")
    if isinstance(parameters, Mapping):
        where = f"bind_tools(strict=True): tool {function.get('name')!r}"
        function["parameters"] = to_strict_json_schema(parameters, where)
    function["strict"] = True
    return {**tool, "function": function}


def tool_choice_param(
    choice: dict[str, Any] | str | bool, names: list[str]
) -> dict[str, Any] | str:
    """``bind_tools``' ``tool_choice`` in wire form; a tool name must be one of ``names``."""
    if choice is True or choice in ("any", "required"):
        return "required"
    if choice in ("auto", "none"):
        return str(choice)
    if isinstance(choice, str) and not choice.startswith(SERVER_TOOL_PREFIX):
        if choice not in names:
            raise ValueError(
                f"tool_choice={choice!r} names no bound tool; the tools are {names}. Use one of "
                "them, or 'auto', 'none', 'required'."
            )
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, (dict, str)):
        return choice
    raise ValueError(f"tool_choice={choice!r}: use 'auto', 'none', 'required', or a tool name.")


def _bad_type(where: str, kind: Any) -> str:
    return (
        f"{where}.type={kind!r}: OpenRouter takes function tools "
        '({"type": "function", "function": {"name", "description", "parameters"}}) and its '
        f'server tools ({{"type": "{SERVER_TOOL_PREFIX}web_search"}} ...).'
    )


def _plain(key: str) -> str:
    return key


def check_tools(
    tools: Any, label: Callable[[str], str] = _plain, *, unique: bool = True
) -> list[str]:
    """Check wire-format ``tools``; return the function names. Raises ValueError naming the
    tool, the field and the fix.

    ``unique=False`` lets two tools share a name: binding is allowed (LangChain's standard suite
    binds a Pydantic class next to its own JSON schema), sending is not.
    """
    if not isinstance(tools, (list, tuple)):
        raise ValueError(f"{label('tools')}={tools!r}: a list of tools is expected.")
    names: list[str] = []
    for index, tool in enumerate(tools):
        at = f"{label('tools')}[{index}]"
        if not isinstance(tool, Mapping):
            raise ValueError(f"{at}={tool!r}: a tool is a dict; bind_tools() converts others.")
        kind = tool.get("type")
        if isinstance(kind, str) and kind.startswith(SERVER_TOOL_PREFIX):
            continue
        if kind != "function":
            raise ValueError(_bad_type(at, kind))
        function = tool.get("function")
        if not isinstance(function, Mapping):
            raise ValueError(f"{at}.function: missing; give {{'name': ..., 'parameters': ...}}.")
        names.append(_check_function(function, at))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates and unique:
        raise ValueError(
            f"{label('tools')}: two tools are named {duplicates[0]!r}; tool names must be unique "
            "(the model calls a tool by its name)."
        )
    return names


def _check_function(function: Mapping[str, Any], at: str) -> str:
    name = function.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        length = f" ({len(name)} characters)" if isinstance(name, str) else ""
        raise ValueError(
            f"{at}.function.name={name!r}{length}: tool names are 1 to 64 letters, digits, "
            "'_' or '-' (e.g. 'get_weather')."
        )
    description = function.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError(
            f"{at} ({name!r}).function.description={description!r}: a string is expected "
            "(it tells the model when to call the tool)."
        )
    where = f"{at} ({name!r}).function.parameters"
    if "parameters" not in function:
        raise ValueError(
            f"{where}: missing. Give a JSON schema; a tool without arguments takes "
            f"{_EMPTY_PARAMETERS}."
        )
    parameters = function["parameters"]
    if not isinstance(parameters, Mapping):
        raise ValueError(f"{where}={parameters!r}: a JSON-schema object is expected.")
    if parameters.get("type", "object") != "object":
        raise ValueError(
            f"{where}.type={parameters.get('type')!r}: tool arguments are a JSON object; wrap "
            "the value in one, e.g. {'type': 'object', 'properties': {'items': {...}}}."
        )
    properties = parameters.get("properties", {})
    if not isinstance(properties, Mapping):
        raise ValueError(
            f"{where}.properties={properties!r}: a dict of argument name -> JSON schema is "
            "expected."
        )
    for key, schema in properties.items():
        if not isinstance(schema, (Mapping, bool)):
            raise ValueError(
                f"{where}.properties[{key!r}]={schema!r}: each argument needs a JSON schema, "
                "e.g. {'type': 'string'}."
            )
    required = parameters.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ValueError(f"{where}.required={required!r}: a list of property names is expected.")
    unknown = [r for r in required if r not in properties]
    if unknown:
        raise ValueError(
            f"{where}.required names {unknown}, which are not in its properties "
            f"({sorted(properties)}); add them to properties or drop them from required."
        )
    from ..structured_output.schema import check_refs  # pure; the same rule as schemas

    check_refs(parameters, f"{where}:")
    return name


def check_tool_choice(
    choice: Any, names: Sequence[str], has_tools: bool, label: Callable[[str], str] = _plain
) -> None:
    """Check a wire ``tool_choice`` against the function ``names`` bound (and any tools)."""
    at = f"{label('tool_choice')}={choice!r}"
    if choice in _CHOICE_WORDS:
        if choice == "required" and not has_tools:
            raise ValueError(f"{at}: no tools are bound; bind_tools([...]) first, or drop it.")
        return
    if isinstance(choice, str) and choice.startswith(SERVER_TOOL_PREFIX):
        return
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        wanted = (choice.get("function") or {}).get("name")
        if wanted not in names:
            bound = f"the bound tools are {list(names)}" if names else "no tools are bound"
            raise ValueError(f"{at}: names no bound tool ({bound}); force one of them.")
        return
    raise ValueError(
        f"{at}: use 'auto', 'none', 'required', or "
        "{'type': 'function', 'function': {'name': <a bound tool>}}."
    )


def check_tool_arguments(
    body: Mapping[str, Any], label: Callable[[str], str] = _plain, *, unique: bool = True
) -> None:
    """The tool keys of a request body (``tools``, ``tool_choice``, ``parallel_tool_calls``)."""
    tools = body.get("tools")
    names = check_tools(tools, label, unique=unique) if tools is not None else []
    if body.get("tool_choice") is not None:
        check_tool_choice(body["tool_choice"], names, bool(tools), label)
    parallel = body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise ValueError(f"{label('parallel_tool_calls')}={parallel!r}: True or False.")
