"""Output schemas for structured output: normalisation and strict-mode conversion (pure).

A user schema (Pydantic class, TypedDict, JSON-schema dict or OpenAI function/tool dict) becomes a
:class:`OutputSchema`: its name, description, JSON schema, and whether the parsed result is a
Pydantic instance. :func:`to_strict_json_schema` rewrites a JSON schema the way strict mode wants
it (OpenAI's rules, which OpenRouter forwards): every object closed with
``additionalProperties: false``, every property listed in ``required`` — the optional ones made
nullable instead — recursively through nested objects, arrays, ``anyOf``/``allOf`` and ``$defs``.
:func:`drop_injected_nulls` undoes that nullability on a reply, so an optional field the model
answered with ``null`` falls back to its default instead of failing validation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.utils.function_calling import convert_to_json_schema
from langchain_core.utils.pydantic import is_basemodel_subclass

__all__ = [
    "OutputSchema",
    "accepts_null",
    "drop_injected_nulls",
    "normalize_schema",
    "sanitize_schema_name",
    "to_strict_json_schema",
]

_NAME_MAX = 64
_DEFAULT_NAME = "output"
# keys whose value is a map of name -> subschema
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
# keys whose value is a list of subschemas
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
# keys whose value is one subschema
_SCHEMA_SINGLE = ("items", "additionalProperties", "not", "contains")


@dataclass(frozen=True)
class OutputSchema:
    """A user's output schema, normalised.

    Attributes:
        name: the wire name, ``[A-Za-z0-9_-]{1,64}`` (response_format name / tool name).
        description: the schema's description, if any.
        json_schema: the JSON schema as the user gave it (``$defs`` kept, not yet strict).
        pydantic_class: the Pydantic class to validate into, or None (the result is a dict).
        original: the object the user passed (for tracing, ``ls_structured_output_format``).
    """

    name: str
    description: str | None
    json_schema: dict[str, Any]
    pydantic_class: type[Any] | None
    original: Any


def sanitize_schema_name(title: str | None) -> str:
    """Make ``title`` a valid response-format / tool name: ``[A-Za-z0-9_-]{1,64}``."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", title or "").strip("_")[:_NAME_MAX]
    return cleaned or _DEFAULT_NAME


def normalize_schema(schema: Any) -> OutputSchema:
    """Normalise a Pydantic class, TypedDict, JSON schema or OpenAI function/tool dict.

    Raises:
        ValueError: ``schema`` is none of those (the message says what is accepted), or one of
            its ``$ref`` does not resolve inside it.
    """
    output = _normalized(schema)
    check_refs(output.json_schema)
    return output


def check_refs(
    json_schema: Mapping[str, Any], what: str = "with_structured_output: the schema's"
) -> None:
    """Every ``$ref`` of ``json_schema`` must point inside it (``#/$defs/...``); ``what`` names
    the schema in the message (a tool's parameters are checked the same way).

    Raises:
        ValueError: naming the reference, where it is, and the fix.
    """
    for where, ref in _refs(json_schema, "#"):
        if ref == "#":
            continue  # the root itself: a recursive schema
        try:
            _resolve_ref(ref, json_schema)
        except ValueError as exc:
            raise ValueError(
                f"{what} $ref {ref!r} at {where} cannot be used: "
                f"{exc} Put the definition under the schema's '$defs' (Pydantic does this) and "
                "refer to it as '#/$defs/<Name>', or inline it."
            ) from None


def _refs(node: Any, where: str, names: bool = False) -> list[tuple[str, str]]:
    """(location, ref) of every ``$ref``; ``names``: ``node`` maps names to subschemas."""
    found: list[tuple[str, str]] = []
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and not names:
            found.append((where, ref))
        for key, sub in node.items():
            if not names and key in ("enum", "const", "default", "examples"):
                continue  # data, not schemas
            found += _refs(sub, f"{where}/{key}", not names and key in _SCHEMA_MAPS)
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            found += _refs(sub, f"{where}/{index}")
    return found


def _normalized(schema: Any) -> OutputSchema:
    if isinstance(schema, type) and is_basemodel_subclass(schema):
        # model_json_schema keeps $defs, so recursive models work (convert_to_json_schema inlines)
        json_schema = _pydantic_json_schema(schema)
        return OutputSchema(
            name=sanitize_schema_name(schema.__name__),
            description=json_schema.get("description"),
            json_schema=json_schema,
            pydantic_class=schema,
            original=schema,
        )
    if isinstance(schema, Mapping):
        return _dict_schema(schema)
    try:
        json_schema = convert_to_json_schema(schema)
    except (ValueError, TypeError) as err:
        msg = (
            f"with_structured_output: cannot use schema {schema!r} ({type(schema).__name__}). "
            "Pass a Pydantic class, a TypedDict class, a JSON-schema dict, or an OpenAI "
            "function/tool dict."
        )
        raise ValueError(msg) from err
    return OutputSchema(
        name=sanitize_schema_name(json_schema.get("title")),
        description=json_schema.get("description"),
        json_schema=json_schema,
        pydantic_class=None,
        original=schema,
    )


def _pydantic_json_schema(cls: type[Any]) -> dict[str, Any]:
    if hasattr(cls, "model_json_schema"):
        return dict(cls.model_json_schema())
    return dict(cls.schema())  # pydantic.v1 models


def _dict_schema(schema: Mapping[str, Any]) -> OutputSchema:
    # OpenAI tool {"type": "function", "function": {...}} or function {"name", "parameters"}
    function = schema.get("function") if schema.get("type") == "function" else schema
    if isinstance(function, Mapping) and "name" in function and "parameters" in function:
        json_schema = dict(function["parameters"])
        return OutputSchema(
            name=sanitize_schema_name(str(function["name"])),
            description=function.get("description") or json_schema.get("description"),
            json_schema=json_schema,
            pydantic_class=None,
            original=dict(schema),
        )
    if not any(key in schema for key in ("properties", "type", "$ref", "anyOf", "title")):
        msg = (
            "with_structured_output: the dict schema has none of 'type', 'properties', "
            f"'title' (keys: {sorted(schema)}). Pass a JSON schema such as "
            '{"title": "Answer", "type": "object", "properties": {...}}.'
        )
        raise ValueError(msg)
    return OutputSchema(
        name=sanitize_schema_name(schema.get("title")),
        description=schema.get("description"),
        json_schema=dict(schema),
        pydantic_class=None,
        original=dict(schema),
    )


# --------------------------------------------------------------------------------------------
# strict-mode conversion


def to_strict_json_schema(
    json_schema: Mapping[str, Any], where: str = "with_structured_output"
) -> dict[str, Any]:
    """Return a strict-mode-valid copy of ``json_schema`` (the input is not modified).

    Objects get ``additionalProperties: false`` and list every property in ``required``; a
    property that was optional becomes nullable (``anyOf: [..., {"type": "null"}]``). ``$ref``
    with sibling keywords is inlined (strict mode rejects siblings of ``$ref``); ``default``
    keywords are dropped (every field is now required, and strict mode does not accept them).

    Raises:
        ValueError: a map (``dict[str, X]``: an object with ``additionalProperties`` and no
            ``properties``), which strict mode cannot express: closing it would only allow
            ``{}``. The message starts with ``where``, names the field and suggests
            ``strict=False``.
    """
    root = copy.deepcopy(dict(json_schema))
    try:
        strict: dict[str, Any] = _strict_node(root, root, frozenset(), ())
    except _MapField as exc:
        raise ValueError(
            f"{where}: field {exc.field!r} is a map (dict[str, ...]: an object with "
            "additionalProperties and no fixed properties). Strict mode requires "
            "additionalProperties: false, which would let it hold only {}. Pass strict=False to "
            "send the schema as written, or model it as a list of {key, value} objects."
        ) from None
    return strict


class _MapField(Exception):
    """A map met in strict mode (:func:`to_strict_json_schema` words the error)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _strict_node(
    node: Any, root: dict[str, Any], inlining: frozenset[str], path: tuple[str, ...]
) -> Any:
    """Make one schema node strict, in place; ``inlining`` holds the $refs being expanded,
    ``path`` names the node for messages (field names, ``$defs`` entries)."""
    if not isinstance(node, dict):
        return node
    node.pop("default", None)
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        if ref in inlining:  # a recursive model: keep the bare $ref, drop its annotations
            return {"$ref": ref}
        node = _inline_ref(node, root)
        inlining = inlining | {ref}
    for key in _SCHEMA_MAPS:
        if isinstance(node.get(key), dict):
            node[key] = {
                n: _strict_node(sub, root, inlining, (*path, n)) for n, sub in node[key].items()
            }
    for key in _SCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [_strict_node(sub, root, inlining, path) for sub in node[key]]
    for key in _SCHEMA_SINGLE:
        if isinstance(node.get(key), dict):
            node[key] = _strict_node(node[key], root, inlining, path)
    if len(node.get("allOf") or []) == 1 and not node.get("properties"):
        # pydantic wraps a described $ref in a one-element allOf: flatten it
        node.update(node.pop("allOf")[0])
    if _is_object(node):
        _refuse_maps(node, path)
        _close_object(node, root)
    return node


def _refuse_maps(node: Mapping[str, Any], path: tuple[str, ...]) -> None:
    """A free-form object: ``additionalProperties`` set and no properties, or no ``properties``
    key at all (``{"type": "object"}``); ``"properties": {}`` is an empty object on purpose."""
    extra = node.get("additionalProperties")
    if node.get("properties") or extra is False or ("properties" in node and extra is None):
        return
    raise _MapField(".".join(p for p in path if p) or "the schema itself")


def _is_object(node: Mapping[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _close_object(node: dict[str, Any], root: dict[str, Any]) -> None:
    properties: dict[str, Any] = node.setdefault("properties", {})
    required = set(node.get("required") or [])
    for name, sub in properties.items():
        if name not in required and not accepts_null(sub, root):
            properties[name] = _nullable(sub)
    node["required"] = list(properties)
    node["additionalProperties"] = False


def _nullable(sub: Any) -> dict[str, Any]:
    if not isinstance(sub, dict):
        return {"anyOf": [sub, {"type": "null"}]}
    inner = {k: v for k, v in sub.items() if k not in ("title", "description")}
    outer = {k: sub[k] for k in ("title", "description") if k in sub}
    return {**outer, "anyOf": [inner, {"type": "null"}]}


def _inline_ref(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    target = _resolve_ref(str(node["$ref"]), root)
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    return {**copy.deepcopy(target), **siblings}


def _resolve_ref(ref: str, root: Mapping[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        msg = f"Only local JSON-schema references ('#/...') are supported, got $ref {ref!r}."
        raise ValueError(msg)
    target: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            msg = f"JSON-schema reference {ref!r} does not resolve inside the schema."
            raise ValueError(msg)
        target = target[part]
    if not isinstance(target, dict):
        msg = f"JSON-schema reference {ref!r} does not point at a schema object."
        raise ValueError(msg)
    return target


def accepts_null(node: Any, root: Mapping[str, Any], _seen: frozenset[str] = frozenset()) -> bool:
    """True when ``node`` (a JSON schema inside ``root``) already admits ``null``."""
    if not isinstance(node, Mapping):
        return False
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    if node.get("const", 0) is None or None in (node.get("enum") or []):
        return True
    if any(accepts_null(sub, root, _seen) for sub in node.get("anyOf") or []):
        return True
    if any(accepts_null(sub, root, _seen) for sub in node.get("oneOf") or []):
        return True
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in _seen:
        try:
            return accepts_null(_resolve_ref(ref, root), root, _seen | {ref})
        except ValueError:
            return False
    return False


# --------------------------------------------------------------------------------------------
# undoing the injected nullability on a reply


def drop_injected_nulls(value: Any, json_schema: Mapping[str, Any]) -> Any:
    """Remove ``null`` values that strict mode forced onto optional, non-nullable properties.

    ``json_schema`` is the ORIGINAL (non-strict) schema. A key whose value is ``None``, that the
    original schema did not require and whose own schema does not admit null, is removed — so a
    Pydantic default applies, and a TypedDict / JSON-schema result simply lacks the key.
    """
    return _drop_nulls(value, json_schema, json_schema, 0)


_MAX_DEPTH = 64  # guards recursive schemas against pathological replies


def _drop_nulls(value: Any, node: Any, root: Mapping[str, Any], depth: int) -> Any:
    if depth > _MAX_DEPTH or not isinstance(node, Mapping):
        return value
    ref = node.get("$ref")
    if isinstance(ref, str):
        try:
            node = {**_resolve_ref(ref, root), **{k: v for k, v in node.items() if k != "$ref"}}
        except ValueError:
            return value
    if isinstance(value, dict):
        return _drop_nulls_in_object(value, node, root, depth)
    if isinstance(value, list) and isinstance(node.get("items"), Mapping):
        return [_drop_nulls(item, node["items"], root, depth + 1) for item in value]
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in node.get(key) or []:
            if _shape_matches(value, sub, root):
                return _drop_nulls(value, sub, root, depth + 1)
    return value


def _drop_nulls_in_object(
    value: dict[str, Any], node: Mapping[str, Any], root: Mapping[str, Any], depth: int
) -> dict[str, Any]:
    properties = node.get("properties")
    if not isinstance(properties, Mapping):
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key) or []:
                if _shape_matches(value, sub, root):
                    return dict(_drop_nulls(value, sub, root, depth + 1))
        return value
    required = set(node.get("required") or [])
    result: dict[str, Any] = {}
    for key, item in value.items():
        sub = properties.get(key)
        if item is None and key not in required and sub is not None and not accepts_null(sub, root):
            continue  # an optional field strict mode made nullable: let its default apply
        result[key] = _drop_nulls(item, sub, root, depth + 1) if sub is not None else item
    return result


def _shape_matches(value: Any, node: Any, root: Mapping[str, Any]) -> bool:
    if not isinstance(node, Mapping):
        return False
    ref = node.get("$ref")
    if isinstance(ref, str):
        try:
            node = _resolve_ref(ref, root)
        except ValueError:
            return False
    if isinstance(value, dict):
        return _is_object(node)
    if isinstance(value, list):
        return node.get("type") == "array" or "items" in node
    return False
